import { QueryTypes, type Sequelize, type Transaction } from 'sequelize';
import { cursorAt, olderThan, type Cursor } from '../keyset';
import type { Content, ContentStatus, ContentStep, Models, Project } from '../models';

/** A content row loaded with its project (and so its owner). */
export type ContentWithProject = Content & { project: Project };

/** Who owns a content: its project's user or organization. A content's project never changes. */
export interface ContentOwner {
  projectId: string;
  userId: string | null;
  organizationId: string | null;
}

export class ContentNotFoundError extends Error {
  override readonly name = 'ContentNotFoundError';
  constructor(readonly contentId: string) {
    super(`content ${contentId} does not exist`);
  }
}

const OWNER_CACHE_SIZE = 1000;

/** The columns of a content in a list (no script, no source data). */
const SUMMARY_COLUMNS = [
  'id', 'project_id', 'title', 'description', 'tags', 'status', 'thumbnail_url', 'video_url', 'video_duration', 'video_resolution',
  'safety_score', 'source_type', 'source_url', 'step', 'created_at', 'updated_at', 'published_at',
].map((column) => `c.${column}`).join(', ');

/** Contents with their project and owner. */
export class ContentRepository {
  private readonly owners = new Map<string, ContentOwner>();

  constructor(
    private readonly sequelize: Sequelize,
    private readonly models: Models,
  ) {}

  /** The content with its project; ContentNotFoundError when either is gone. */
  async withProject(contentId: string, transaction?: Transaction): Promise<ContentWithProject> {
    const content = await this.models.Content.findByPk(contentId, { include: [{ model: this.models.Project, as: 'project' }], transaction });
    if (!content?.project) throw new ContentNotFoundError(contentId);
    return content as ContentWithProject;
  }

  /** The content's owner, looked up once per content and kept for a while. */
  async owner(contentId: string): Promise<ContentOwner> {
    const cached = this.owners.get(contentId);
    if (cached) return cached;
    const [row] = await this.sequelize.query<{ project_id: string; user_id: string | null; organization_id: string | null }>(
      'SELECT p.id AS project_id, p.user_id, p.organization_id FROM contents c JOIN projects p ON p.id = c.project_id WHERE c.id = :contentId',
      { replacements: { contentId }, type: QueryTypes.SELECT },
    );
    if (!row) throw new ContentNotFoundError(contentId);
    const owner = { projectId: row.project_id, userId: row.user_id, organizationId: row.organization_id };
    if (this.owners.size >= OWNER_CACHE_SIZE) this.owners.delete(this.owners.keys().next().value as string);
    this.owners.set(contentId, owner);
    return owner;
  }

  async setStatus(contentId: string, status: ContentStatus): Promise<void> {
    await this.models.Content.update({ status }, { where: { id: contentId } });
  }

  /**
   * A page of the contents a user may see (personal or through an organization; only one
   * organization's with `organizationId`), newest first, with the filters given and after the cursor: the summary columns, each row's owner and cursor time.
   * `steps` lists the rows of single steps (of one kind with `step`) instead of the productions;
   * `ids` keeps only the contents named.
   */
  async listVisible(
    userId: string,
    filters: { projectId?: string; organizationId?: string; status?: string; createdFrom?: Date; createdTo?: Date; cursor?: Cursor; steps?: boolean; step?: ContentStep; ids?: string[] },
    limit: number,
  ): Promise<{ content: Content; owner: ContentOwner; cursorAt: string }[]> {
    if (filters.ids?.length === 0) return [];
    const where = [
      '(p.user_id = :userId OR p.organization_id IN (SELECT organization_id FROM organization_members WHERE user_id = :userId))',
      filters.steps ? 'c.step IS NOT NULL' : 'c.step IS NULL',
    ];
    const replacements: Record<string, unknown> = { userId, limit };
    const conditions: [unknown, string, string][] = [
      [filters.projectId, 'projectId', 'c.project_id = :projectId'],
      [filters.organizationId, 'organizationId', 'p.organization_id = :organizationId'],
      [filters.status, 'status', 'c.status = :status'],
      [filters.createdFrom, 'createdFrom', 'c.created_at >= :createdFrom'],
      [filters.createdTo, 'createdTo', 'c.created_at < :createdTo'],
      [filters.step, 'step', 'c.step = :step'],
      [filters.ids, 'ids', 'c.id IN (:ids)'],
    ];
    for (const [value, name, condition] of conditions) {
      if (value === undefined) continue;
      where.push(condition);
      replacements[name] = value;
    }
    if (filters.cursor) where.push(olderThan(this.sequelize, filters.cursor, 'c'));
    const rows = await this.sequelize.query<Content & { cursor_at: string; owner_user_id: string | null; owner_organization_id: string | null }>(
      `SELECT ${SUMMARY_COLUMNS}, ${cursorAt('c')} AS cursor_at, p.user_id AS owner_user_id, p.organization_id AS owner_organization_id
         FROM contents c JOIN projects p ON p.id = c.project_id
        WHERE ${where.join(' AND ')}
        ORDER BY c.created_at DESC, c.id DESC
        LIMIT :limit`,
      { replacements, type: QueryTypes.SELECT },
    );
    return rows.map(({ cursor_at: cursorAtValue, owner_user_id: ownerUserId, owner_organization_id: organizationId, ...columns }) => ({
      content: this.models.Content.build(columns, { raw: true, isNewRecord: false }),
      owner: { projectId: columns.project_id, userId: ownerUserId, organizationId },
      cursorAt: cursorAtValue,
    }));
  }

  /**
   * Deletes a content with its jobs and uploads. Its `credit_transactions` and `api_usages` rows
   * stay, their references set to NULL by the foreign keys (migration 012); each ledger row notes
   * the deleted content's id first, in the same transaction as the delete.
   */
  async deleteKeepingLedger(contentId: string): Promise<void> {
    await this.sequelize.transaction(async (transaction) => {
      await this.sequelize.query(
        `UPDATE credit_transactions
            SET description = concat_ws(' ', description, format('(content %s deleted)', CAST(:contentId AS text)))
          WHERE content_id = :contentId`,
        { replacements: { contentId }, transaction, type: QueryTypes.UPDATE },
      );
      await this.models.Content.destroy({ where: { id: contentId }, transaction });
    });
  }
}
