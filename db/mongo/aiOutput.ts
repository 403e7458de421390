import { Schema, type InferSchemaType } from 'mongoose';
import { requiredUuidField, uuidField } from './fields';

export const AI_OUTPUT_TYPES = ['script', 'safety_check', 'metadata'] as const;
export type AiOutputType = (typeof AI_OUTPUT_TYPES)[number];

/** One model call and its answer, kept whole for audit and prompt tuning (seed §4.1). */
export const aiOutputSchema = new Schema(
  {
    content_id: requiredUuidField,
    // Absent when a call happens outside a recorded content_jobs attempt (e.g. a preview).
    job_id: uuidField,
    output_type: { type: String, enum: AI_OUTPUT_TYPES, required: true },
    request: {
      model: { type: String, required: true },
      prompt: { type: String, required: true },
      parameters: { type: Schema.Types.Mixed, default: {} },
    },
    response: {
      raw_output: { type: String },
      parsed_output: { type: Schema.Types.Mixed },
      tokens_used: {
        input: { type: Number, min: 0, default: 0 },
        output: { type: Number, min: 0, default: 0 },
      },
    },
    processing_time_ms: { type: Number, min: 0, required: true },
  },
  {
    collection: 'ai_outputs',
    // Written once and never updated: a creation time only.
    timestamps: { createdAt: 'created_at', updatedAt: false } as const,
    minimize: false,
  },
);

aiOutputSchema.index({ content_id: 1, created_at: -1 }, { name: 'idx_ai_outputs_content_created' });
aiOutputSchema.index({ job_id: 1 }, { name: 'idx_ai_outputs_job' });
aiOutputSchema.index({ created_at: -1 }, { name: 'idx_ai_outputs_created' });

export type AiOutput = InferSchemaType<typeof aiOutputSchema>;
