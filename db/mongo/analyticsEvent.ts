import { Schema, type InferSchemaType } from 'mongoose';
import { uuidField } from './fields';

/** Known event types; append new ones here (stored values are never renamed). */
export const ANALYTICS_EVENT_TYPES = ['content_created', 'video_rendered', 'upload_completed'] as const;
export type AnalyticsEventType = (typeof ANALYTICS_EVENT_TYPES)[number];

/** A product event for dashboards (seed §4.2). Insert-only; reporting reads by type, tenant and time. */
export const analyticsEventSchema = new Schema(
  {
    event_type: { type: String, enum: ANALYTICS_EVENT_TYPES, required: true },
    user_id: uuidField,
    organization_id: uuidField,
    project_id: uuidField,
    content_id: uuidField,
    properties: { type: Schema.Types.Mixed, default: {} },
    session_id: { type: String },
    user_agent: { type: String },
    ip_address: { type: String },
  },
  {
    collection: 'analytics_events',
    timestamps: { createdAt: 'created_at', updatedAt: false } as const,
    minimize: false,
  },
);

analyticsEventSchema.index({ event_type: 1, created_at: -1 }, { name: 'idx_analytics_events_type_created' });
analyticsEventSchema.index({ organization_id: 1, created_at: -1 }, { name: 'idx_analytics_events_organization_created' });
analyticsEventSchema.index({ project_id: 1, created_at: -1 }, { name: 'idx_analytics_events_project_created' });
analyticsEventSchema.index({ content_id: 1, created_at: -1 }, { name: 'idx_analytics_events_content_created' });
analyticsEventSchema.index({ created_at: -1 }, { name: 'idx_analytics_events_created' });

export type AnalyticsEvent = InferSchemaType<typeof analyticsEventSchema>;
