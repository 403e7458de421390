import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure, TypedSearchAttributes } from '@temporalio/common';
import type { AppContext } from './app-context';
import { produceContent, produceContentWorkflowId, type ProduceContentInput } from '../workflows/produce-content';
import { ContentIdKey, OrganizationIdKey, OwnerUserIdKey, PipelineStepKey, ProjectIdKey } from '../workflows/search-attributes';

export type ProductionOptions = Pick<ProduceContentInput, 'approvalTimeout' | 'mediaHeartbeatTimeout'>;

/**
 * Starts `produceContent` for a content. The workflow id is derived from the content id, so a
 * second start while a production runs is refused by the server (WorkflowExecutionAlreadyStartedError);
 * a content whose production ended may be produced again. Search attributes and memo let an operator
 * find the run in the Web UI by content, project, organization or owner.
 */
export async function startProduction(
  ctx: Pick<AppContext, 'config' | 'models' | 'temporal'>,
  contentId: string,
  options: ProductionOptions = {},
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof produceContent>> {
  const content = await ctx.models.Content.findByPk(contentId, { include: [{ model: ctx.models.Project, as: 'project' }] });
  const project = content?.project;
  if (!content || !project) throw ApplicationFailure.nonRetryable(`content ${contentId} does not exist`, 'ContentNotFound');
  return ctx.temporal.workflow.start(produceContent, {
    taskQueue: ctx.config.temporal.taskQueue,
    workflowId: produceContentWorkflowId(contentId),
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    args: [{ contentId, mediaTaskQueue: ctx.config.temporal.mediaTaskQueue, ...options }],
    typedSearchAttributes: new TypedSearchAttributes([
      { key: ContentIdKey, value: contentId },
      { key: ProjectIdKey, value: project.id },
      ...(project.organization_id ? [{ key: OrganizationIdKey, value: project.organization_id }] : []),
      ...(project.user_id ? [{ key: OwnerUserIdKey, value: project.user_id }] : []),
      { key: PipelineStepKey, value: 'queued' },
    ]),
    memo: { title: content.title, project: project.name },
  });
}
