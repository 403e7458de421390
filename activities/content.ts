import { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Op } from 'sequelize';
import { chargeContent, NoCreditsError, refundContent, type LedgerEntry } from '../db/ledger';
import type { Content, ContentStatus, Project } from '../db/models';
import { WorkflowLogModel } from '../db/mongo/models';
import type { AppContext } from '../lib/app-context';
import type { Providers } from '../providers';
import type { SafetyFlag, ScriptRequest } from '../providers/types';
import { guardContentCost } from './costs';
import { toActivityFailure } from './failures';
import { providerCallOptions, recordAiExchange, recordUsage } from './recording';

/** The light activities of a production: the ledger, the script, the safety check, the content row. */
export function createContentActivities(ctx: AppContext, providers: Providers) {
  const { Content: ContentModel, Project: ProjectModel, ContentJob } = ctx.models;

  async function loadContent(contentId: string): Promise<Content & { project: Project }> {
    const content = await ContentModel.findByPk(contentId, { include: [{ model: ProjectModel, as: 'project' }] });
    if (!content?.project) throw ApplicationFailure.nonRetryable(`content ${contentId} does not exist`, 'ContentNotFound');
    return content as Content & { project: Project };
  }

  return {
    async chargeCredit(input: { contentId: string; reference: string }): Promise<LedgerEntry> {
      try {
        return await chargeContent(ctx.sequelize, input.contentId, `produceContent run ${input.reference}`);
      } catch (err) {
        if (err instanceof NoCreditsError) throw ApplicationFailure.nonRetryable(err.message, 'NoCredits', { reason: err.reason });
        throw err;
      }
    },

    async refundCredit(input: { contentId: string; reason: string }): Promise<LedgerEntry | null> {
      return (await refundContent(ctx.sequelize, input.contentId, `refund: ${input.reason}`.slice(0, 1000))) ?? null;
    },

    async writeScript(input: { contentId: string }): Promise<{ title: string; sections: number }> {
      const content = await loadContent(input.contentId);
      await content.update({ status: 'processing' });
      const { project } = content;
      const request: ScriptRequest = {
        language: project.mediaLanguage(),
        vertical: project.vertical,
        tone: project.tone,
        format: project.content_format,
        title: content.title,
        ...(content.source_data && typeof content.source_data === 'object' && !Array.isArray(content.source_data)
          ? { sourceData: content.source_data }
          : { topic: content.title }),
      };
      await guardContentCost(ctx, content.id, 'script');
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
      return { title: result.title, sections: result.script.body.length };
    },

    async checkSafety(input: { contentId: string }): Promise<{ passed: boolean; score: number; flags: SafetyFlag[] }> {
      const content = await loadContent(input.contentId);
      await guardContentCost(ctx, content.id, 'safety');
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
      const info = ActivityContext.current().info;
      await WorkflowLogModel.updateOne(
        { workflow_id: info.workflowExecution?.workflowId, execution_id: info.workflowExecution?.runId },
        { $set: { error: { node: 'approval', message: `rejected${input.reason ? `: ${input.reason}` : ''}` } } },
      );
    },

    /**
     * Ends a run consistently: job rows a dead worker left running are closed, the content's status
     * follows the outcome, and the run's workflow log is closed.
     */
    async finishRun(input: { contentId: string; outcome: 'completed' | 'failed' | 'cancelled'; error?: string; keepReady: boolean }): Promise<void> {
      const execution = ActivityContext.current().info.workflowExecution;
      if (!execution) throw new Error('finishRun runs inside a workflow');
      const jobStatus = input.outcome === 'cancelled' ? 'cancelled' : 'failed';
      await ContentJob.update(
        { status: jobStatus, completed_at: new Date(), error_message: input.error ?? 'the run ended before this job finished' },
        { where: { content_id: input.contentId, status: { [Op.in]: ['pending', 'running'] }, 'result.run_id': execution.runId } as never },
      );
      if (input.outcome !== 'completed') {
        const status: ContentStatus = input.keepReady ? 'ready' : input.outcome === 'cancelled' ? 'draft' : 'failed';
        await ContentModel.update({ status }, { where: { id: input.contentId } });
      }
      await WorkflowLogModel.updateOne(
        { workflow_id: execution.workflowId, execution_id: execution.runId },
        {
          $set: {
            status: input.outcome,
            completed_at: new Date(),
            ...(input.error ? { error: { node: input.outcome, message: input.error } } : {}),
          },
        },
      );
    },
  };
}

export type ContentActivities = ReturnType<typeof createContentActivities>;
