import type { Organization, OrganizationMember, Role } from '../../db/models';

/**
 * What the API shows of organizations and their members: explicit field lists, so a column added
 * later is not exposed by accident.
 */
export function serializeOrganization(organization: Organization, role: Role) {
  return {
    id: organization.id,
    name: organization.name,
    slug: organization.slug,
    logo_url: organization.logo_url,
    plan_type: organization.plan_type,
    settings: organization.settings,
    brand_colors: organization.brand_colors,
    custom_domain: organization.custom_domain,
    status: organization.status,
    created_at: organization.created_at,
    updated_at: organization.updated_at,
    /** The caller's role in this organization. */
    role,
  };
}

/** A member with the user's public profile; `member.user` must be loaded. */
export function serializeMember(member: OrganizationMember) {
  return {
    user_id: member.user_id,
    name: member.user?.name ?? null,
    email: member.user?.email ?? null,
    avatar_url: member.user?.avatar_url ?? null,
    role: member.role,
    permissions: member.permissions,
    invited_by: member.invited_by,
    joined_at: member.joined_at,
  };
}
