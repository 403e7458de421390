import type { Sequelize } from 'sequelize';
import type { Content, Role } from '../models';
import type { ContentOwner } from './contents';

/** Every column of a content, as the API shows it (what `serializeContent` reads). */
export type ContentRow = Pick<
  Content,
  | 'id' | 'project_id' | 'title' | 'description' | 'script' | 'tags' | 'thumbnail_url' | 'media_assets' | 'audio_url' | 'audio_duration'
  | 'video_url' | 'video_duration' | 'video_resolution' | 'status' | 'safety_score' | 'safety_flags' | 'source_type' | 'source_url'
  | 'source_data' | 'created_at' | 'updated_at' | 'published_at'
>;

const CONTENT_COLUMNS = [
  'id', 'project_id', 'title', 'description', 'script', 'tags', 'thumbnail_url', 'media_assets', 'audio_url', 'audio_duration',
  'video_url', 'video_duration', 'video_resolution', 'status', 'safety_score', 'safety_flags', 'source_type', 'source_url',
  'source_data', 'created_at', 'updated_at', 'published_at',
].map((column) => `c.${column}`).join(', ');

/**
 * A content and the role the caller holds over its project, in one round trip: the owner of a
 * personal project is its user; an organization's project is acted on by role, read from
 * organization_members. `caller_role` is NULL when the caller may not see the content.
 * Positional parameters: $1 the content id, $2 the caller's user id.
 */
export const CONTENT_WITH_CALLER_ROLE_SQL = `SELECT ${CONTENT_COLUMNS},
       CASE WHEN p.user_id IS NOT NULL THEN CASE WHEN p.user_id = $2 THEN 'owner' END
            ELSE (SELECT m.role FROM organization_members m WHERE m.organization_id = p.organization_id AND m.user_id = $2)
       END AS caller_role,
       p.organization_id AS project_organization_id,
       p.user_id AS project_user_id
  FROM contents c JOIN projects p ON p.id = c.project_id
 WHERE c.id = $1`;

type RawContentRow = Omit<ContentRow, 'audio_duration' | 'video_duration' | 'safety_score'> & {
  audio_duration: string | null;
  video_duration: string | null;
  safety_score: string | null;
  caller_role: Role | null;
  project_organization_id: string | null;
  project_user_id: string | null;
};

/** DECIMAL columns come back from pg as strings; the models read them as numbers, and so does this. */
const decimal = (value: string | null): number | null => (value === null ? null : Number(value));

/** What Sequelize's postgres pool hands out: a `pg` client, with Sequelize's type parsers. */
interface PooledClient {
  query<R>(text: string, values: unknown[]): Promise<{ rows: R[] }>;
  /** Set on a broken connection, so the pool drops it (as Sequelize's own queries do). */
  _invalid?: boolean;
}

/** Errors after which a connection cannot be trusted again (Sequelize's own list for postgres). */
const BROKEN_CONNECTION = /ECONNRESET|Unable to set non-blocking to true|SSL SYSCALL error: EOF detected|Local: Authentication failure|Query read timeout/i;

/**
 * Runs one read on a connection of Sequelize's pool, straight through its `pg` client: the same
 * connections, type parsers and trace log line as `sequelize.query`, without its per-query work
 * (options merging, bind formatting, hooks, a Query object) that a fixed read does not need.
 */
async function pooledQuery<R>(sequelize: Sequelize, text: string, values: unknown[]): Promise<R[]> {
  const { logging } = (sequelize as unknown as { options: { logging?: unknown } }).options;
  if (typeof logging === 'function') logging(`Executing (default): ${text}`);
  const client = (await sequelize.connectionManager.getConnection({ type: 'read' })) as PooledClient;
  try {
    return (await client.query<R>(text, values)).rows;
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (code === 'ECONNRESET' || BROKEN_CONNECTION.test(String(err))) client._invalid = true;
    throw err;
  } finally {
    sequelize.connectionManager.releaseConnection(client);
  }
}

/**
 * A content with the role the caller holds over it and its owner, or undefined when no content has
 * this id: a plain row (nothing to hydrate, nothing to save), for the routes that only show a content.
 */
export async function contentWithCallerRole(
  sequelize: Sequelize,
  contentId: string,
  userId: string,
): Promise<{ content: ContentRow; role: Role | undefined; owner: ContentOwner } | undefined> {
  const [row] = await pooledQuery<RawContentRow>(sequelize, CONTENT_WITH_CALLER_ROLE_SQL, [contentId, userId]);
  if (!row) return undefined;
  const { caller_role: role, project_organization_id: organizationId, project_user_id: ownerUserId, ...columns } = row;
  return {
    content: { ...columns, audio_duration: decimal(row.audio_duration), video_duration: decimal(row.video_duration), safety_score: decimal(row.safety_score) },
    role: role ?? undefined,
    owner: { projectId: columns.project_id, userId: ownerUserId, organizationId },
  };
}
