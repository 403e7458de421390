import type { AnalyticsEventType, MongoModels } from './mongo/models';

export interface EventContext {
  userId?: string | null;
  organizationId?: string | null;
  projectId?: string | null;
  contentId?: string | null;
  sessionId?: string;
  userAgent?: string;
  ipAddress?: string;
}

/** Product events in `analytics_events`. */
export class AnalyticsRepository {
  constructor(private readonly mongo: MongoModels) {}

  async track(type: AnalyticsEventType, context: EventContext, properties: Record<string, unknown> = {}): Promise<void> {
    await this.mongo.AnalyticsEvent.create({
      event_type: type,
      user_id: context.userId ?? undefined,
      organization_id: context.organizationId ?? undefined,
      project_id: context.projectId ?? undefined,
      content_id: context.contentId ?? undefined,
      session_id: context.sessionId,
      user_agent: context.userAgent,
      ip_address: context.ipAddress,
      properties,
    });
  }
}
