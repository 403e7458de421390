import { Context as ActivityContext } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import type { ContentSourceType, DataSourceType, Project } from '../db/models';
import type { AppContext } from '../control/app-context';
import { moduleLogger } from '../lib/logger';
import { startProduction } from '../control/productions';
import { emitWebhookEvent, projectOwner } from '../control/webhooks';
import { createSourceFetcher } from '../providers/sources';
import type { SourceSettings } from '../providers/sources';
import type { ProviderUsage } from '../providers/types';
import { toActivityFailure } from './failures';
import { runEventId } from './webhooks';

const log = moduleLogger('ingest');

/**
 * Each fetch looks back this far before the previous one: feeds publish items late and with older
 * dates, and the dedup keys (data_source_items) make re-reading them harmless.
 */
const FETCH_LOOKBACK_MS = 24 * 3600_000;

/** What a content made from an item records as `contents.source_type`. */
const CONTENT_SOURCE_TYPE: Record<DataSourceType, ContentSourceType> = { rss: 'rss', keyword: 'rss', api: 'api', youtube_channel: 'url' };

export interface CollectResult {
  status: 'collected' | 'missing' | 'inactive';
  fetched: number;
  /** Contents created in this run, one per item no earlier run had seen. */
  created: string[];
}

export interface AdmitResult {
  started: string[];
  /** Drafts left for a later run: no credits remain for them now. */
  waiting: string[];
}

/**
 * The data-source activities: fetch a source's new items and turn each into a draft content
 * exactly once, then start productions for as many drafts as the owner's credits allow.
 */
export function createIngestActivities(ctx: AppContext, settings: SourceSettings) {
  const { db } = ctx;

  function recordSourceUsage(project: Project, usage: ProviderUsage, error?: string): Promise<void> {
    return db.usage.insert({ user_id: project.user_id, organization_id: project.organization_id, content_id: null, job_id: null }, usage, error);
  }

  return {
    async collectSourceItems(input: { dataSourceId: string }): Promise<CollectResult> {
      const source = await db.sources.withProject(input.dataSourceId);
      if (!source) return { status: 'missing', fetched: 0, created: [] };
      if (!source.is_active) return { status: 'inactive', fetched: 0, created: [] };
      if (source.project.status !== 'active') {
        // A paused or archived project fetches nothing and spends nothing (its schedule is paused too;
        // this covers a run already started, or one started by hand).
        log.info({ dataSourceId: source.id, projectId: source.project_id, projectStatus: source.project.status }, 'data source skipped: its project is not active');
        return { status: 'inactive', fetched: 0, created: [] };
      }
      const startedAt = new Date();
      const result = await Promise.resolve()
        .then(() => createSourceFetcher(source.spec(), settings))
        .then((fetcher) => fetcher.fetch(
          { since: source.last_fetched_at ? new Date(source.last_fetched_at.getTime() - FETCH_LOOKBACK_MS) : null, language: source.project.mediaLanguage() },
          {
            signal: ActivityContext.current().cancellationSignal,
            onFailedCall: (usage, error) => recordSourceUsage(source.project, usage, error),
          },
        ))
        .catch((err: unknown) => {
          throw toActivityFailure(err);
        });
      for (const usage of result.usage) await recordSourceUsage(source.project, usage);
      const created: string[] = [];
      for (const item of [...result.items].reverse()) {
        const contentId = await db.sources.createDraftOnce(source, item, CONTENT_SOURCE_TYPE[source.source_type]);
        if (contentId) created.push(contentId);
      }
      await source.update({ last_fetched_at: startedAt });
      await emitWebhookEvent(ctx, {
        id: runEventId('data_source.ingested', source.id),
        type: 'data_source.ingested',
        owner: projectOwner(source.project),
        data: { data_source_id: source.id, project_id: source.project_id, name: source.name, fetched: result.items.length, created_content_ids: created },
      });
      log.info({ dataSourceId: source.id, fetched: result.items.length, created: created.length }, 'data source collected');
      return { status: 'collected', fetched: result.items.length, created };
    },

    /**
     * Starts `produceContent` for the source's drafts, oldest first, as far as the owner's
     * subscription has credits left; the others stay drafts until a later run. A production already
     * running for a draft is left as it is.
     */
    async startSourceProductions(input: { dataSourceId: string }): Promise<AdmitResult> {
      const drafts = await db.sources.drafts(input.dataSourceId);
      if (drafts.length === 0) return { started: [], waiting: [] };
      // The project may have been paused since the items were collected: its drafts wait.
      if (!(await db.sources.projectIsActive(input.dataSourceId))) return { started: [], waiting: drafts };
      const allowed = await db.ledger.creditsForSource(input.dataSourceId);
      const started: string[] = [];
      for (const draft of drafts.slice(0, allowed)) {
        try {
          await startProduction(ctx, draft);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        }
        started.push(draft);
      }
      return { started, waiting: drafts.slice(allowed) };
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;
