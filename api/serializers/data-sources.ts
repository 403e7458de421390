import type { DataSource } from '../../db/models';

/**
 * What the API shows of a data source. `schedule` is the state of its Temporal Schedule, which the
 * API keeps in step with the row: 'none' without a cron, else 'active' or 'paused' (is_active).
 */
export function serializeDataSource(source: DataSource) {
  return {
    id: source.id,
    project_id: source.project_id,
    name: source.name,
    source_type: source.source_type,
    config: source.config,
    schedule_cron: source.schedule_cron,
    is_active: source.is_active,
    schedule: !source.schedule_cron ? 'none' : source.is_active ? 'active' : 'paused',
    last_fetched_at: source.last_fetched_at,
    created_at: source.created_at,
    updated_at: source.updated_at,
  };
}
