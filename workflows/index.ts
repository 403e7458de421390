export { systemCheck } from './system-check';
export { produceContent } from './produce-content';
export { publishToChannel } from './publish-to-channel';
export { ingestDataSource } from './ingest-data-source';
export { renewSubscriptions } from './renew-subscriptions';
export { maintainPartitions } from './maintain-partitions';
export { backUpDatabases } from './back-up-databases';
export { refreshUploadMetrics } from './refresh-upload-metrics';
