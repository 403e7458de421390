import { QueryTypes, type Sequelize } from 'sequelize';
import type { SourceItem } from '../../providers/sources/types';
import { EMPTY_SCRIPT, NOT_PRODUCED_YET, type ContentSourceType, type DataSource, type Models, type Project } from '../models';

/** A data source with its project (and so its owner and language). */
export type SourceWithProject = DataSource & { project: Project };

/** Data sources and their items: each item becomes a draft content exactly once (`data_source_items`). */
export class SourceRepository {
  constructor(
    private readonly sequelize: Sequelize,
    private readonly models: Models,
  ) {}

  async withProject(dataSourceId: string): Promise<SourceWithProject | null> {
    const source = await this.models.DataSource.findByPk(dataSourceId, { include: [{ model: this.models.Project, as: 'project' }] });
    return source?.project ? (source as SourceWithProject) : null;
  }

  /**
   * Inserts the item's key and its draft content in one transaction; null when an earlier or
   * concurrent run already took the key.
   */
  async createDraftOnce(source: SourceWithProject, item: SourceItem, sourceType: ContentSourceType): Promise<string | null> {
    return this.sequelize.transaction(async (transaction) => {
      const [claimed] = await this.sequelize.query<{ item_key: string }>(
        `INSERT INTO data_source_items (data_source_id, item_key, title, url, published_at)
         VALUES (:sourceId, :key, :title, :url, :publishedAt)
         ON CONFLICT (data_source_id, item_key) DO NOTHING
         RETURNING item_key`,
        {
          replacements: { sourceId: source.id, key: item.key, title: item.title.slice(0, 500), url: item.url ?? null, publishedAt: item.publishedAt ?? null },
          type: QueryTypes.SELECT,
          transaction,
        },
      );
      if (!claimed) return null;
      const content = await this.models.Content.create(
        {
          project_id: source.project_id,
          title: (item.title || source.name).slice(0, 200),
          description: null,
          tags: null,
          script: EMPTY_SCRIPT,
          source_type: sourceType,
          source_url: item.url ?? null,
          source_data: { ...item.data, data_source_id: source.id, item_key: item.key },
          ...NOT_PRODUCED_YET,
        },
        { transaction },
      );
      await this.sequelize.query('UPDATE data_source_items SET content_id = :contentId WHERE data_source_id = :sourceId AND item_key = :key', {
        replacements: { contentId: content.id, sourceId: source.id, key: item.key },
        transaction,
      });
      return content.id;
    });
  }

  /** Whether the source's project is active (not paused or archived); false when either is gone. */
  async projectIsActive(dataSourceId: string): Promise<boolean> {
    const [row] = await this.sequelize.query<{ status: string | null }>(
      'SELECT p.status FROM data_sources s JOIN projects p ON p.id = s.project_id WHERE s.id = :dataSourceId',
      { replacements: { dataSourceId }, type: QueryTypes.SELECT },
    );
    return row !== undefined && (row.status ?? 'active') === 'active';
  }

  /** The source's contents still in draft, oldest first. */
  async drafts(dataSourceId: string): Promise<string[]> {
    const rows = await this.sequelize.query<{ id: string }>(
      `SELECT c.id FROM data_source_items i JOIN contents c ON c.id = i.content_id
        WHERE i.data_source_id = :dataSourceId AND c.status = 'draft'
        ORDER BY c.created_at, c.id`,
      { replacements: { dataSourceId }, type: QueryTypes.SELECT },
    );
    return rows.map((row) => row.id);
  }
}
