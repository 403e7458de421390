import { WorkflowIdConflictPolicy, WorkflowIdReusePolicy, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { TypedSearchAttributes, type SearchAttributePair } from '@temporalio/common';
import type { Project } from '../db/models';
import type { ContentWithProject } from '../db/repositories/contents';
import type { AppContext } from './app-context';
import { produceContent, produceContentWorkflowId, type ProduceContentInput } from '../workflows/produce-content';
import { ContentIdKey, OrganizationIdKey, OwnerUserIdKey, PipelineStepKey, ProjectIdKey } from '../workflows/search-attributes';

/**
 * The Temporal task priority of productions whose owner's plan has `priority_rendering` (1 goes
 * first); the others keep the server's default (3 of 1–5), so their tasks wait behind these when
 * the queues are backlogged.
 */
export const PRIORITY_RENDERING_KEY = 1;

export type ProductionOptions = Pick<ProduceContentInput, 'approvalTimeout' | 'mediaHeartbeatTimeout'>;

/** What finds a content's runs in the Web UI: its content, project, organization and owner. */
export function contentSearchAttributes(contentId: string, project: Pick<Project, 'id' | 'organization_id' | 'user_id'>): SearchAttributePair[] {
  return [
    { key: ContentIdKey, value: contentId },
    { key: ProjectIdKey, value: project.id },
    ...(project.organization_id ? [{ key: OrganizationIdKey, value: project.organization_id }] : []),
    ...(project.user_id ? [{ key: OwnerUserIdKey, value: project.user_id }] : []),
  ];
}

/**
 * Starts `produceContent` for a content. The workflow id is derived from the content id, so a
 * second start while a production runs is refused by the server (WorkflowExecutionAlreadyStartedError);
 * a content whose production ended may be produced again. A caller that has already loaded the
 * content with its project passes it, saving a read. Search attributes and memo let an operator
 * find the run in the Web UI by content, project, organization or owner. The owner's plan decides
 * the run's task priority (`priority_rendering`).
 */
export async function startProduction(
  ctx: Pick<AppContext, 'config' | 'db' | 'temporal'>,
  target: string | ContentWithProject,
  options: ProductionOptions = {},
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof produceContent>> {
  const content = typeof target === 'string' ? await ctx.db.contents.withProject(target) : target;
  const { project } = content;
  const contentId = content.id;
  const { features } = await ctx.db.plans.featuresOf(project);
  return ctx.temporal.workflow.start(produceContent, {
    taskQueue: ctx.config.temporal.taskQueue,
    workflowId: produceContentWorkflowId(contentId),
    workflowIdReusePolicy: WorkflowIdReusePolicy.ALLOW_DUPLICATE,
    workflowIdConflictPolicy: WorkflowIdConflictPolicy.FAIL,
    args: [{ contentId, mediaTaskQueue: ctx.config.temporal.mediaTaskQueue, ...options }],
    typedSearchAttributes: new TypedSearchAttributes([...contentSearchAttributes(contentId, project), { key: PipelineStepKey, value: 'queued' }]),
    memo: { title: content.title, project: project.name },
    // Activities inherit the workflow's priority (@temporalio/common Priority), the media ones too.
    ...(features.priority_rendering ? { priority: { priorityKey: PRIORITY_RENDERING_KEY } } : {}),
  });
}
