import { Schema, type InferSchemaType } from 'mongoose';
import { uuidField } from './fields';

export const WORKFLOW_LOG_STATUSES = ['running', 'completed', 'failed', 'cancelled'] as const;
export type WorkflowLogStatus = (typeof WORKFLOW_LOG_STATUSES)[number];

export const WORKFLOW_NODE_STATUSES = ['success', 'failed', 'skipped', 'cancelled'] as const;
export type WorkflowNodeStatus = (typeof WORKFLOW_NODE_STATUSES)[number];

const executedNodeSchema = new Schema(
  {
    node_name: { type: String, required: true },
    status: { type: String, enum: WORKFLOW_NODE_STATUSES, required: true },
    started_at: { type: Date, required: true },
    completed_at: { type: Date },
    output_summary: { type: String },
  },
  { _id: false },
);

const workflowErrorSchema = new Schema(
  {
    node: { type: String },
    message: { type: String, required: true },
    stack: { type: String },
  },
  { _id: false },
);

/**
 * One Temporal workflow run as a readable log (seed §4.3, written for n8n there): workflow_id is
 * the Temporal workflow id, execution_id its run id. Steps are appended with `$push` as they end.
 */
export const workflowLogSchema = new Schema(
  {
    workflow_id: { type: String, required: true },
    execution_id: { type: String, required: true },
    project_id: uuidField,
    content_id: uuidField,
    status: { type: String, enum: WORKFLOW_LOG_STATUSES, required: true, default: 'running' },
    nodes_executed: { type: [executedNodeSchema], default: [] },
    error: { type: workflowErrorSchema, default: undefined },
    started_at: { type: Date, required: true, default: Date.now },
    completed_at: { type: Date },
  },
  {
    collection: 'workflow_logs',
    // The log changes while the run goes on; updated_at shows when a "running" log went quiet.
    timestamps: { createdAt: false, updatedAt: 'updated_at' } as const,
  },
);

workflowLogSchema.index({ workflow_id: 1, execution_id: 1 }, { name: 'idx_workflow_logs_workflow_execution', unique: true });
workflowLogSchema.index({ content_id: 1, started_at: -1 }, { name: 'idx_workflow_logs_content_started' });
workflowLogSchema.index({ project_id: 1, started_at: -1 }, { name: 'idx_workflow_logs_project_started' });
workflowLogSchema.index({ status: 1, started_at: -1 }, { name: 'idx_workflow_logs_status_started' });
workflowLogSchema.index({ started_at: -1 }, { name: 'idx_workflow_logs_started' });

export type WorkflowLog = InferSchemaType<typeof workflowLogSchema>;
export type WorkflowExecutedNode = InferSchemaType<typeof executedNodeSchema>;
