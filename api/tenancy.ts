import { AsyncLocalStorage } from 'node:async_hooks';
import { literal, type Model, type ModelStatic } from 'sequelize';
import type { Models, Project, Role } from '../db/models';
import { HttpError } from './errors';

/**
 * Who owns what: personal resources belong to a user, organization resources to an organization
 * whose members act by role (owner > admin > editor > viewer). A resource of another tenant answers
 * 404, exactly like one that does not exist, so ids leak nothing; a member without the rights a
 * write needs gets 403.
 */
const RANK: Readonly<Record<string, number>> = { viewer: 1, member: 1, editor: 2, admin: 3, owner: 4 };

export type Owner = { kind: 'user'; userId: string } | { kind: 'organization'; organizationId: string };

export function roleAtLeast(role: string, need: Role): boolean {
  return (RANK[role] ?? 0) >= RANK[need]!;
}

/**
 * A request made with an API key runs inside its scope (set by `authenticate`): the key acts as its
 * user (a personal key) or as its creator (an organization's key), never above the key's role, and
 * an organization's key only on that organization's resources — anything else answers as if the
 * caller had no role there (404). Every role computed below passes through `capped`.
 */
export interface ApiKeyScope {
  keyId: string;
  role: Role;
  /** Set for an organization's key: the only organization it may act on. */
  organizationId: string | null;
}

const apiKeyScope = new AsyncLocalStorage<ApiKeyScope>();

/** Runs `fn` (the rest of the request) as the API key `scope`. */
export function runWithApiKeyScope<T>(scope: ApiKeyScope, fn: () => T): T {
  return apiKeyScope.run(scope, fn);
}

/** The role the caller may use, given the role its user holds over something of `organizationId` (null: personal). */
function capped(role: Role | undefined, organizationId: string | null | undefined): Role | undefined {
  const scope = apiKeyScope.getStore();
  if (!scope || !role) return role;
  if (scope.organizationId !== null && organizationId !== undefined && scope.organizationId !== organizationId) return undefined;
  return (RANK[role] ?? 0) <= RANK[scope.role]! ? role : scope.role;
}

export function notFound(what = 'resource'): HttpError {
  return new HttpError(404, 'not_found', `no such ${what}`);
}

export function forbidden(need: Role): HttpError {
  return new HttpError(403, 'forbidden', `this action needs the ${need} role or higher`);
}

/**
 * Checks the role the caller holds over a row of `organizationId` (null: a personal row): 404 named
 * after the row (`what`) without one, as when the row does not exist; 403 when it is below `need`.
 */
export function requireRole(role: Role | undefined, need: Role, what: string, organizationId: string | null): Role {
  role = capped(role, organizationId);
  if (!role) throw notFound(what);
  if (!roleAtLeast(role, need)) throw forbidden(need);
  return role;
}

/** The user's role in an organization, or undefined when they are not a member. */
async function memberRole(models: Models, userId: string, organizationId: string): Promise<Role | undefined> {
  const member = await models.OrganizationMember.findOne({ where: { organization_id: organizationId, user_id: userId }, attributes: ['role'] });
  return capped(member?.role as Role | undefined, organizationId);
}

/** The role the user holds over something owned by `owner` (a personal owner is its own owner). */
export async function roleOver(models: Models, userId: string, owner: { user_id: string | null; organization_id: string | null }): Promise<Role | undefined> {
  if (owner.user_id) return capped(owner.user_id === userId ? 'owner' : undefined, null);
  if (owner.organization_id) return memberRole(models, userId, owner.organization_id);
  return undefined;
}

/** Asserts the user may act on the organization with at least `need`; 404 for non-members. */
export async function requireOrganizationRole(models: Models, userId: string, organizationId: string, need: Role): Promise<Role> {
  const role = await memberRole(models, userId, organizationId);
  if (!role) throw notFound('organization');
  if (!roleAtLeast(role, need)) throw forbidden(need);
  return role;
}

/** Loads a project the user can see, checking `need`; 404 when it is not theirs to see. */
export async function requireProject(models: Models, userId: string, projectId: string, need: Role): Promise<{ project: Project; role: Role }> {
  const project = await models.Project.findByPk(projectId);
  if (!project) throw notFound('project');
  const role = await roleOver(models, userId, project);
  if (!role) throw notFound('project');
  if (!roleAtLeast(role, need)) throw forbidden(need);
  return { project, role };
}

/**
 * Loads a row that belongs to a project (a channel, a data source, a content) with its project's
 * owner columns, checking `need` over the project; 404 named after the row (`what`) when it is not
 * theirs to see, exactly as when it does not exist.
 */
export async function requireInProject<T extends Model & { project?: Project }>(
  models: Models,
  model: ModelStatic<T>,
  what: string,
  userId: string,
  id: string,
  need: Role,
): Promise<{ row: T & { project: Project }; role: Role }> {
  // The caller's membership role comes in the same query (a sub-select), saving a round trip on
  // every read of a content, channel or data source.
  const memberRole = literal(
    `(SELECT m.role FROM organization_members m WHERE m.organization_id = "project"."organization_id" AND m.user_id = ${models.Project.sequelize!.escape(userId)})`,
  );
  const row = await model.findByPk(id, {
    include: [{ model: models.Project, as: 'project', attributes: ['id', 'user_id', 'organization_id', [memberRole, 'member_role']] }],
  });
  const project = row?.project;
  const held = !project ? undefined : project.user_id ? (project.user_id === userId ? 'owner' : undefined) : ((project.get('member_role') as Role | null) ?? undefined);
  const role = capped(held, project?.organization_id ?? null);
  return { row: row as T & { project: Project }, role: requireRole(row ? role : undefined, need, what, project?.organization_id ?? null) };
}

/** The owner a new resource gets: the organization named in the request (checked), else the user. */
export async function ownerFor(models: Models, userId: string, organizationId: string | undefined, need: Role): Promise<Owner> {
  if (!organizationId) {
    // A personal owner holds every right over its own resources, within an API key's cap; an
    // organization's key never creates personal resources.
    const role = capped('owner', null);
    if (!role) throw new HttpError(403, 'forbidden', "an organization's API key acts only on that organization");
    if (!roleAtLeast(role, need)) throw forbidden(need);
    return { kind: 'user', userId };
  }
  await requireOrganizationRole(models, userId, organizationId, need);
  return { kind: 'organization', organizationId };
}

export function ownerColumns(owner: Owner): { user_id: string | null; organization_id: string | null } {
  return owner.kind === 'user' ? { user_id: owner.userId, organization_id: null } : { user_id: null, organization_id: owner.organizationId };
}
