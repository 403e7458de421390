import { proxyActivities } from '@temporalio/workflow';
import type { AdmitResult, CollectResult, IngestActivities } from '../activities/ingest';

export interface IngestDataSourceInput {
  dataSourceId: string;
}

export interface IngestDataSourceResult {
  status: CollectResult['status'];
  fetched: number;
  created: string[];
  started: AdmitResult['started'];
  waiting: AdmitResult['waiting'];
}

const { collectSourceItems } = proxyActivities<IngestActivities>({
  startToCloseTimeout: '5 minutes',
  retry: { initialInterval: '5 seconds', backoffCoefficient: 2, maximumInterval: '2 minutes', maximumAttempts: 5 },
});

const { startSourceProductions } = proxyActivities<IngestActivities>({
  startToCloseTimeout: '2 minutes',
  retry: { initialInterval: '1 second', backoffCoefficient: 2, maximumInterval: '30 seconds', maximumAttempts: 5 },
});

/**
 * One run of a data source, started by its Schedule or by "run now": fetch the new items, make a
 * draft content of each item no run has seen before (exactly once, however runs overlap or retry),
 * then start productions for the drafts the owner's credits cover. The others wait for a later run.
 */
export async function ingestDataSource(input: IngestDataSourceInput): Promise<IngestDataSourceResult> {
  const collected = await collectSourceItems({ dataSourceId: input.dataSourceId });
  if (collected.status !== 'collected') return { ...collected, started: [], waiting: [] };
  const admitted = await startSourceProductions({ dataSourceId: input.dataSourceId });
  return { ...collected, ...admitted };
}
