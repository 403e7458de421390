import { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { ContentNotFoundError, type ContentWithProject } from '../db/repositories/contents';
import type { Execution } from '../db/repositories/jobs';
import type { Stores } from '../db/stores';

/** The content with its project; a content deleted meanwhile fails the activity for good (`ContentNotFound`). */
export async function loadContent(db: Pick<Stores, 'contents'>, contentId: string): Promise<ContentWithProject> {
  try {
    return await db.contents.withProject(contentId);
  } catch (err) {
    if (err instanceof ContentNotFoundError) throw ApplicationFailure.nonRetryable(err.message, 'ContentNotFound');
    throw err;
  }
}

/** The workflow run the running activity belongs to. */
export function currentExecution(): Execution {
  const execution = ActivityContext.current().info.workflowExecution;
  if (!execution) throw new Error('this activity runs only inside a workflow');
  return { workflowId: execution.workflowId, runId: execution.runId };
}
