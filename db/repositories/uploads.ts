import { QueryTypes, type Sequelize } from 'sequelize';
import type { UploadMetrics } from '../models';

/** A published upload whose counters are due, with its channel's owner. */
export interface DueUpload {
  id: string;
  channel_id: string;
  content_id: string;
  platform_video_id: string;
  metrics: UploadMetrics | null;
  user_id: string | null;
  organization_id: string | null;
}

/** How often an upload's counters are read, by its age since publication: [younger than, every] (ms), then `oldestEveryMs`. */
export interface RefreshCadence {
  steps: readonly (readonly [number, number])[];
  oldestEveryMs: number;
}

export class UploadRepository {
  constructor(private readonly sequelize: Sequelize) {}

  /**
   * The published uploads of connected channels whose counters are due at `now` under the cadence,
   * never read ones first, then the longest unread, at most `limit`.
   */
  async dueForMetrics(now: Date, limit: number, cadence: RefreshCadence): Promise<DueUpload[]> {
    const replacements: Record<string, unknown> = { now: now.toISOString(), limit, oldest: cadence.oldestEveryMs };
    const steps = cadence.steps.map(([youngerThan, every], i) => {
      replacements[`age${i}`] = youngerThan;
      replacements[`every${i}`] = every;
      return `WHEN age_ms < :age${i} THEN :every${i}`;
    });
    return this.sequelize.query<DueUpload>(
      `WITH published AS (
         SELECT u.id, u.channel_id, u.content_id, u.platform_video_id, u.metrics, p.user_id, p.organization_id,
                EXTRACT(EPOCH FROM (CAST(:now AS timestamptz) - u.published_at)) * 1000 AS age_ms,
                EXTRACT(EPOCH FROM (CAST(:now AS timestamptz) - CAST(u.metrics->>'last_updated' AS timestamptz))) * 1000 AS since_ms
           FROM content_uploads u
           JOIN channels c ON c.id = u.channel_id
           JOIN projects p ON p.id = c.project_id
          WHERE u.status = 'published' AND u.platform_video_id IS NOT NULL AND u.published_at IS NOT NULL AND c.status = 'connected'
       )
       SELECT id, channel_id, content_id, platform_video_id, metrics, user_id, organization_id
         FROM published
        WHERE since_ms IS NULL OR since_ms >= CASE ${steps.join(' ')} ELSE :oldest END
        ORDER BY since_ms DESC NULLS FIRST, id
        LIMIT :limit`,
      { replacements, type: QueryTypes.SELECT },
    );
  }
}
