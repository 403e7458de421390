import { Context as ActivityContext } from '@temporalio/activity';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { QueryTypes } from 'sequelize';
import type { ContentSourceType, DataSource, DataSourceType, Project } from '../db/models';
import type { AppContext } from '../lib/app-context';
import { moduleLogger } from '../lib/logger';
import { startProduction } from '../lib/productions';
import { createSourceFetcher } from '../providers/sources';
import type { SourceItem, SourceSettings } from '../providers/sources';
import type { ProviderUsage } from '../providers/types';
import { EMPTY_SCRIPT, NOT_PRODUCED_YET } from '../db/models';
import { toActivityFailure } from './failures';
import { insertApiUsage } from './recording';

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
  const { DataSource: DataSourceModel, Project: ProjectModel } = ctx.models;

  async function loadSource(id: string): Promise<(DataSource & { project: Project }) | null> {
    const source = await DataSourceModel.findByPk(id, { include: [{ model: ProjectModel, as: 'project' }] });
    return source?.project ? (source as DataSource & { project: Project }) : null;
  }

  function recordSourceUsage(project: Project, usage: ProviderUsage, error?: string): Promise<void> {
    return insertApiUsage(ctx, { user_id: project.user_id, organization_id: project.organization_id, content_id: null, job_id: null }, usage, error);
  }

  /** Inserts the item's key and its draft content in one transaction; null when the key was taken. */
  async function createOnce(source: DataSource & { project: Project }, item: SourceItem): Promise<string | null> {
    return ctx.sequelize.transaction(async (transaction) => {
      const [claimed] = await ctx.sequelize.query<{ item_key: string }>(
        `INSERT INTO data_source_items (data_source_id, item_key, title, url, published_at)
         VALUES (:sourceId, :key, :title, :url, :publishedAt)
         ON CONFLICT (data_source_id, item_key) DO NOTHING
         RETURNING item_key`,
        {
          replacements: { sourceId: source.id, key: item.key, title: item.title.slice(0, 500), url: item.url ?? null, publishedAt: item.publishedAt ?? null },
          type: QueryTypes.SELECT,
          transaction,
        },
      );
      if (!claimed) return null;
      const content = await ctx.models.Content.create(
        {
          project_id: source.project_id,
          title: (item.title || source.name).slice(0, 200),
          description: null,
          tags: null,
          script: EMPTY_SCRIPT,
          source_type: CONTENT_SOURCE_TYPE[source.source_type],
          source_url: item.url ?? null,
          source_data: { ...item.data, data_source_id: source.id, item_key: item.key },
          ...NOT_PRODUCED_YET,
        },
        { transaction },
      );
      await ctx.sequelize.query('UPDATE data_source_items SET content_id = :contentId WHERE data_source_id = :sourceId AND item_key = :key', {
        replacements: { contentId: content.id, sourceId: source.id, key: item.key },
        transaction,
      });
      return content.id;
    });
  }

  return {
    async collectSourceItems(input: { dataSourceId: string }): Promise<CollectResult> {
      const source = await loadSource(input.dataSourceId);
      if (!source) return { status: 'missing', fetched: 0, created: [] };
      if (!source.is_active) return { status: 'inactive', fetched: 0, created: [] };
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
        const contentId = await createOnce(source, item);
        if (contentId) created.push(contentId);
      }
      await source.update({ last_fetched_at: startedAt });
      log.info({ dataSourceId: source.id, fetched: result.items.length, created: created.length }, 'data source collected');
      return { status: 'collected', fetched: result.items.length, created };
    },

    /**
     * Starts `produceContent` for the source's drafts, oldest first, as far as the owner's
     * subscription has credits left; the others stay drafts until a later run. A production already
     * running for a draft is left as it is.
     */
    async startSourceProductions(input: { dataSourceId: string }): Promise<AdmitResult> {
      const drafts = await ctx.sequelize.query<{ id: string }>(
        `SELECT c.id FROM data_source_items i JOIN contents c ON c.id = i.content_id
          WHERE i.data_source_id = :sourceId AND c.status = 'draft'
          ORDER BY c.created_at, c.id`,
        { replacements: { sourceId: input.dataSourceId }, type: QueryTypes.SELECT },
      );
      if (drafts.length === 0) return { started: [], waiting: [] };
      const [balance] = await ctx.sequelize.query<{ credits_remaining: number }>(
        `SELECT s.credits_remaining FROM data_sources d
           JOIN projects p ON p.id = d.project_id
           JOIN subscriptions s ON (s.user_id = p.user_id OR s.organization_id = p.organization_id)
          WHERE d.id = :sourceId AND s.status = 'active' AND (s.current_period_end IS NULL OR s.current_period_end > NOW())
          ORDER BY s.created_at DESC LIMIT 1`,
        { replacements: { sourceId: input.dataSourceId }, type: QueryTypes.SELECT },
      );
      const allowed = Math.max(0, balance?.credits_remaining ?? 0);
      const started: string[] = [];
      for (const draft of drafts.slice(0, allowed)) {
        try {
          await startProduction(ctx, draft.id);
        } catch (err) {
          if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
        }
        started.push(draft.id);
      }
      return { started, waiting: drafts.slice(allowed).map((d) => d.id) };
    },
  };
}

export type IngestActivities = ReturnType<typeof createIngestActivities>;
