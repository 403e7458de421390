import { ApplicationFailure } from '@temporalio/common';
import type { ContentStatus } from '../db/models';
import { NoCreditsError, type LedgerEntry } from '../db/repositories/ledger';
import type { AppContext } from '../control/app-context';
import { emitWebhookEvent, projectOwner } from '../control/webhooks';
import type { Providers } from '../providers';
import type { SafetyFlag, ScriptRequest } from '../providers/types';
import { guardContentCost } from './costs';
import { toActivityFailure } from './failures';
import { currentExecution, loadContent } from './scope';
import { projectProviderOrders, ProvidersFor } from './providers-for';
import { providerCallOptions, recordAiExchange, recordUsage } from './recording';
import { frameOf, templateFor } from './templates';
import { runEventId } from './webhooks';

/** The light activities of a production: the ledger, the script, the safety check, the content row. */
export function createContentActivities(ctx: AppContext, platformProviders: Providers, providersFor = ProvidersFor.fixed(platformProviders, ctx.config)) {
  const { db } = ctx;

  return {
    /** Takes the content's credit, described by the workflow that takes it (produceContent unless named) and its run. */
    async chargeCredit(input: { contentId: string; reference: string; workflow?: string }): Promise<LedgerEntry> {
      let entry: LedgerEntry;
      try {
        entry = await db.ledger.charge(input.contentId, `${input.workflow ?? 'produceContent'} run ${input.reference}`);
      } catch (err) {
        if (err instanceof NoCreditsError) throw ApplicationFailure.nonRetryable(err.message, 'NoCredits', { reason: err.reason });
        throw err;
      }
      // The charge that brings the balance down to the threshold tells the owner, once (its transaction names the event).
      const threshold = ctx.config.webhooks.creditsLowAt;
      if (entry.balance <= threshold && entry.balance + 1 > threshold) {
        const { project } = await loadContent(db, input.contentId);
        await emitWebhookEvent(ctx, {
          id: `credits.low:${entry.transactionId}`,
          type: 'credits.low',
          owner: projectOwner(project),
          data: { subscription_id: entry.subscriptionId, credits_remaining: entry.balance, threshold, content_id: input.contentId },
        });
      }
      return entry;
    },

    async refundCredit(input: { contentId: string; reason: string }): Promise<LedgerEntry | null> {
      return (await db.ledger.refund(input.contentId, `refund: ${input.reason}`.slice(0, 1000))) ?? null;
    },

    /**
     * The writer step: the configured writer writes the script, title, description and tags, for
     * the frame and the length of the project's template. A creator's script (`script.source`,
     * db/models/json.ts) is kept as it is: no writer call, no usage row, no AI output; the result
     * says whose script the production goes on with.
     */
    async writeScript(input: { contentId: string }): Promise<{ title: string; sections: number; source: 'creator' | 'writer' }> {
      const content = await loadContent(db, input.contentId);
      await content.update({ status: 'processing' });
      if (content.script.source === 'creator') return { title: content.title, sections: content.script.body.length, source: 'creator' };
      const { project } = content;
      const template = (await templateFor(db, project, (await db.plans.featuresOf(project)).features)).template_data;
      const request: ScriptRequest = {
        language: project.mediaLanguage(),
        vertical: project.vertical,
        tone: project.tone,
        format: project.content_format,
        frame: frameOf(template.resolution),
        targetSec: template.duration,
        title: content.title,
        ...(content.source_data && typeof content.source_data === 'object' && !Array.isArray(content.source_data)
          ? { sourceData: content.source_data }
          : { topic: content.title }),
      };
      const orders = projectProviderOrders(ctx.config, content.project);
      await guardContentCost(ctx, content.id, 'script', {}, orders);
      const providers = await providersFor.current(orders);
      const began = Date.now();
      const result = await providers.scriptWriter.write(request, providerCallOptions()).catch((err: unknown) => {
        throw toActivityFailure(err);
      });
      await recordUsage(result.usage);
      await recordAiExchange('script', result.exchange, result.usage, { script: result.script, title: result.title, description: result.description, tags: result.tags }, Date.now() - began);
      await content.update({
        script: result.script,
        title: result.title.slice(0, 200),
        description: result.description,
        tags: result.tags,
      });
      return { title: result.title, sections: result.script.body.length, source: 'writer' };
    },

    async checkSafety(input: { contentId: string }): Promise<{ passed: boolean; score: number; flags: SafetyFlag[] }> {
      const content = await loadContent(db, input.contentId);
      const orders = projectProviderOrders(ctx.config, content.project);
      await guardContentCost(ctx, content.id, 'safety', {}, orders);
      const providers = await providersFor.current(orders);
      const began = Date.now();
      const result = await providers.safetyChecker.check(
        { language: content.project.mediaLanguage(), vertical: content.project.vertical, title: content.title, script: content.script },
        providerCallOptions(),
      ).catch((err: unknown) => {
        throw toActivityFailure(err);
      });
      await recordUsage(result.usage);
      await recordAiExchange('safety_check', result.exchange, result.usage, { score: result.score, flags: result.flags }, Date.now() - began);
      await content.update({ safety_score: result.score, safety_flags: result.flags as never });
      return { passed: result.score >= providers.safetyThreshold, score: result.score, flags: result.flags };
    },

    async recordRejection(input: { contentId: string; reason?: string }): Promise<void> {
      await db.jobs.logRejection(currentExecution(), input.reason);
    },

    /**
     * Ends a run consistently: job rows a dead worker left running are closed, the content's status
     * follows the outcome, and the run's workflow log is closed.
     */
    async finishRun(input: { contentId: string; outcome: 'completed' | 'failed' | 'cancelled'; error?: string; keepReady: boolean }): Promise<void> {
      const status: ContentStatus | undefined =
        input.outcome === 'completed' ? undefined : input.keepReady ? 'ready' : input.outcome === 'cancelled' ? 'draft' : 'failed';
      await db.jobs.closeRun(input.contentId, currentExecution(), input.outcome, input.error, status);
      if (status === 'failed') {
        const content = await loadContent(db, input.contentId);
        await emitWebhookEvent(ctx, {
          id: runEventId('content.failed', content.id),
          type: 'content.failed',
          owner: projectOwner(content.project),
          data: { content_id: content.id, project_id: content.project_id, title: content.title, error: input.error ?? null },
        });
      }
    },

    /**
     * Ends a single step's run as `finishRun` ends a production's: its row becomes `ready` once its
     * outputs are made, `failed`, or `draft` when cancelled (as a cancelled production does).
     */
    async finishStep(input: { contentId: string; outcome: 'completed' | 'failed' | 'cancelled'; error?: string }): Promise<void> {
      const status: ContentStatus = input.outcome === 'completed' ? 'ready' : input.outcome === 'cancelled' ? 'draft' : 'failed';
      await db.jobs.closeRun(input.contentId, currentExecution(), input.outcome, input.error, status);
    },
  };
}

export type ContentActivities = ReturnType<typeof createContentActivities>;
