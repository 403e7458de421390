import Joi from 'joi';
import { UniqueConstraintError, type Transaction } from 'sequelize';
import { ROLES, type BrandColors, type JsonObject, type Role } from '../../db/models';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { createWithinPlanLimit } from '../limits';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { serializeMember, serializeOrganization } from '../serializers/organizations';
import { forbidden, notFound, requireOrganizationRole, roleAtLeast } from '../tenancy';
import { organizationLogoPrefix } from '../../activities/media-keys';
import { checkUploadIn, newUpload, pictureUploadBody } from './uploads';

/**
 * Organizations and their members. Rights: any member reads; the owner manages the organization
 * itself (rename, settings, delete) and its billing; admins manage members (but only an owner
 * grants, changes or removes an owner); every member may leave. An organization always keeps at
 * least one owner.
 */

const slug = Joi.string()
  .pattern(/^[a-z0-9-]{3,100}$/)
  .messages({ 'string.pattern.base': '{{#label}} must be 3 to 100 characters of a-z, 0-9 and -' });
const hexColor = Joi.string().pattern(/^#[0-9A-Fa-f]{6}([0-9A-Fa-f]{2})?$/).messages({ 'string.pattern.base': '{{#label}} must be a hex colour like #1A2B3C' });

const editableFields = {
  name: schemas.name,
  logo_url: Joi.string().trim().uri({ scheme: ['https', 'http'] }).max(500).allow(null),
  // Free-form organization preferences; bounded so one row cannot grow without limit.
  settings: Joi.object().max(50),
  brand_colors: Joi.object({ primary: hexColor, secondary: hexColor }),
};

interface EditableOrganization {
  name?: string;
  slug?: string;
  logo_url?: string | null;
  /** A logo uploaded through POST /organizations/:id/logo: logo_url becomes its URL, and white-label videos carry it. */
  logo_key?: string;
  settings?: JsonObject;
  brand_colors?: BrandColors;
}

const memberParams = Joi.object<{ id: string; userId: string }>({ id: schemas.id.lowercase().required(), userId: schemas.id.lowercase().required() });
const role = Joi.string().valid(...ROLES);

function slugTaken(): HttpError {
  return new HttpError(409, 'conflict', 'an organization with this slug exists', { 'body.slug': 'already taken' });
}

export function organizationRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { sequelize } = ctx;
  const { Organization, OrganizationMember, Subscription, User } = ctx.models;
  const userInclude = [{ model: User, as: 'user', attributes: ['id', 'name', 'email', 'avatar_url'] }];

  async function loadOrganization(id: string, transaction?: Transaction) {
    const organization = await Organization.findByPk(id, { transaction });
    if (!organization) throw notFound('organization');
    return organization;
  }

  /**
   * Locks the organization's row and returns the caller's role as of the lock. Every membership
   * change takes this lock first, so two concurrent changes cannot both remove the last owner.
   */
  async function lockAsMember(organizationId: string, userId: string, transaction: Transaction): Promise<Role> {
    await Organization.findByPk(organizationId, { attributes: ['id'], transaction, lock: transaction.LOCK.UPDATE });
    const caller = await OrganizationMember.findOne({ where: { organization_id: organizationId, user_id: userId }, attributes: ['role'], transaction });
    if (!caller) throw notFound('organization');
    return caller.role;
  }

  async function assertAnotherOwner(organizationId: string, transaction: Transaction): Promise<void> {
    const owners = await OrganizationMember.count({ where: { organization_id: organizationId, role: 'owner' }, transaction });
    if (owners <= 1) throw new HttpError(409, 'last_owner', 'an organization must keep at least one owner');
  }

  return [
    route({
      method: 'post',
      path: '/organizations',
      summary: 'Create an organization; the caller becomes its owner',
      tag: 'organizations',
      auth: 'user',
      body: Joi.object<EditableOrganization & { name: string; slug: string }>({ ...editableFields, name: editableFields.name.required(), slug: slug.required() }).required(),
      responses: { 201: 'the organization', 409: 'the slug is taken' },
      handler: async (req, res, { body }) => {
        const userId = req.auth!.userId;
        try {
          const organization = await sequelize.transaction(async (transaction) => {
            const created = await Organization.create(body, { transaction });
            await OrganizationMember.create({ organization_id: created.id, user_id: userId, role: 'owner', invited_by: null }, { transaction });
            return created;
          });
          res.status(201).json({ organization: serializeOrganization(organization, 'owner') });
        } catch (err) {
          if (err instanceof UniqueConstraintError) throw slugTaken();
          throw err;
        }
      },
    }),
    route({
      method: 'get',
      path: '/organizations',
      summary: 'The organizations the caller is a member of, with the caller’s role',
      tag: 'organizations',
      auth: 'user',
      responses: { 200: '{ items }: the organizations, each with the caller’s role' },
      handler: async (req, res) => {
        const memberships = await OrganizationMember.findAll({
          where: { user_id: req.auth!.userId },
          include: [{ model: Organization, as: 'organization', required: true }],
          order: [
            ['joined_at', 'ASC'],
            ['organization_id', 'ASC'],
          ],
        });
        res.json({ items: memberships.map((m) => serializeOrganization(m.organization!, m.role)) });
      },
    }),
    route({
      method: 'get',
      path: '/organizations/:id',
      summary: 'One organization (members only)',
      tag: 'organizations',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: 'the organization' },
      handler: async (req, res, { params }) => {
        const callerRole = await requireOrganizationRole(ctx.models, req.auth!.userId, params.id, 'viewer');
        res.json({ organization: serializeOrganization(await loadOrganization(params.id), callerRole) });
      },
    }),
    route({
      method: 'patch',
      path: '/organizations/:id',
      summary: 'Rename or restyle an organization (owner); `logo_key`, an upload answered by POST /organizations/:id/logo, makes that picture the logo (logo_url becomes its URL)',
      tag: 'organizations',
      auth: 'user',
      params: schemas.idParams,
      body: Joi.object<EditableOrganization>({ ...editableFields, slug, logo_key: Joi.string().max(300) }).min(1).oxor('logo_url', 'logo_key').required(),
      responses: { 200: 'the updated organization', 409: 'the slug is taken' },
      handler: async (req, res, { params, body }) => {
        const callerRole = await requireOrganizationRole(ctx.models, req.auth!.userId, params.id, 'owner');
        const organization = await loadOrganization(params.id);
        const { logo_key: logoKey, ...changes } = body;
        if (logoKey !== undefined) {
          const folder = { prefix: organizationLogoPrefix(organization.id), what: "this organization's logo upload", issuedBy: 'POST /organizations/:id/logo' };
          await checkUploadIn(ctx.db.objects, folder, logoKey, ['image'], 'body.logo_key');
          changes.logo_url = ctx.db.objects.urlFor(logoKey);
        }
        try {
          await organization.update(changes);
        } catch (err) {
          if (err instanceof UniqueConstraintError) throw slugTaken();
          throw err;
        }
        res.json({ organization: serializeOrganization(organization, callerRole) });
      },
    }),
    route<{ id: string }, Record<string, never>, { content_type: string; size_bytes: number }>({
      method: 'post',
      path: '/organizations/:id/logo',
      summary:
        "Start an upload of the organization's logo (owner; image/png, image/jpeg or image/webp, up to 20 MiB): answers its key and a presigned " +
        'PUT URL valid 15 minutes, to be sent the file with its Content-Type. `PATCH /organizations/:id` with `logo_key` then makes it the logo, ' +
        "which the videos of a white_label plan carry in their top right corner",
      tag: 'organizations',
      auth: 'user',
      params: schemas.idParams,
      body: pictureUploadBody,
      responses: { 201: '{ key, upload_url, expires_at, content_type }' },
      handler: async (req, res, { params, body }) => {
        await requireOrganizationRole(ctx.models, req.auth!.userId, params.id, 'owner');
        const organization = await loadOrganization(params.id);
        res.status(201).json(await newUpload(ctx.db.objects, organizationLogoPrefix(organization.id), 'image', body.content_type));
      },
    }),
    route({
      method: 'delete',
      path: '/organizations/:id',
      summary: 'Delete an organization (owner): it is closed, its subscription cancelled and its members removed',
      tag: 'organizations',
      auth: 'user',
      params: schemas.idParams,
      responses: { 204: 'deleted' },
      handler: async (req, res, { params }) => {
        await sequelize.transaction(async (transaction) => {
          const callerRole = await lockAsMember(params.id, req.auth!.userId, transaction);
          if (!roleAtLeast(callerRole, 'owner')) throw forbidden('owner');
          // The row stays (status 'deleted'): its usage and credit ledger reference it and are kept
          // for accounting. Without members nobody reaches it or anything it owns any more.
          await Organization.update({ status: 'deleted' }, { where: { id: params.id }, transaction });
          await Subscription.update({ status: 'cancelled', cancelled_at: new Date() }, { where: { organization_id: params.id, status: 'active' }, transaction });
          await OrganizationMember.destroy({ where: { organization_id: params.id }, transaction });
        });
        res.status(204).end();
      },
    }),
    route({
      method: 'get',
      path: '/organizations/:id/members',
      summary: 'The members of an organization (members only)',
      tag: 'organizations',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: '{ items }: the members' },
      handler: async (req, res, { params }) => {
        await requireOrganizationRole(ctx.models, req.auth!.userId, params.id, 'viewer');
        const members = await OrganizationMember.findAll({
          where: { organization_id: params.id },
          include: userInclude,
          order: [
            ['joined_at', 'ASC'],
            ['user_id', 'ASC'],
          ],
        });
        res.json({ items: members.map(serializeMember) });
      },
    }),
    route({
      method: 'post',
      path: '/organizations/:id/members',
      summary: 'Add an existing user by email with a role (admin; only an owner grants owner)',
      tag: 'organizations',
      auth: 'user',
      params: schemas.idParams,
      body: Joi.object<{ email: string; role: Role }>({
        email: Joi.string().trim().lowercase().email({ tlds: false }).max(255).required(),
        role: role.required(),
      }).required(),
      responses: { 201: 'the new member', 403: 'plan_limit: every team seat of the plan is taken', 404: 'no such organization, or no active user with this email', 409: 'already a member' },
      handler: async (req, res, { params, body }) => {
        const userId = req.auth!.userId;
        const callerRole = await requireOrganizationRole(ctx.models, userId, params.id, 'admin');
        if (body.role === 'owner' && callerRole !== 'owner') throw forbidden('owner');
        const user = await User.findOne({ where: { email: body.email, status: 'active' }, attributes: ['id'] });
        if (!user) throw new HttpError(404, 'not_found', 'no user with this email', { 'body.email': 'no account with this email' });
        const alreadyMember = () => new HttpError(409, 'conflict', 'this user is already a member', { 'body.email': 'already a member' });
        // A user who is a member already is a 409 even when every seat is taken.
        if (await OrganizationMember.findOne({ where: { organization_id: params.id, user_id: user.id }, attributes: ['id'] })) throw alreadyMember();
        try {
          // Each member takes one of the plan's team_seats; the advisory lock per organization makes
          // two concurrent adds unable to both take the last seat.
          const member = await createWithinPlanLimit(ctx, { user_id: null, organization_id: params.id }, 'team_seats', (transaction) =>
            OrganizationMember.create({ organization_id: params.id, user_id: user.id, role: body.role, invited_by: userId }, { transaction }),
          );
          const withUser = await OrganizationMember.findByPk(member.id, { include: userInclude });
          res.status(201).json({ member: serializeMember(withUser!) });
        } catch (err) {
          if (err instanceof UniqueConstraintError) throw alreadyMember();
          throw err;
        }
      },
    }),
    route({
      method: 'patch',
      path: '/organizations/:id/members/:userId',
      summary: 'Change a member’s role (admin; only an owner changes or grants owner; the last owner stays)',
      tag: 'organizations',
      auth: 'user',
      params: memberParams,
      body: Joi.object<{ role: Role }>({ role: role.required() }).required(),
      responses: { 200: 'the member', 409: 'it would leave the organization without an owner' },
      handler: async (req, res, { params, body }) => {
        const member = await sequelize.transaction(async (transaction) => {
          const callerRole = await lockAsMember(params.id, req.auth!.userId, transaction);
          if (!roleAtLeast(callerRole, 'admin')) throw forbidden('admin');
          const target = await OrganizationMember.findOne({ where: { organization_id: params.id, user_id: params.userId }, include: userInclude, transaction });
          if (!target) throw notFound('member');
          if ((target.role === 'owner' || body.role === 'owner') && callerRole !== 'owner') throw forbidden('owner');
          if (target.role === 'owner' && body.role !== 'owner') await assertAnotherOwner(params.id, transaction);
          return target.update({ role: body.role }, { transaction });
        });
        res.json({ member: serializeMember(member) });
      },
    }),
    route({
      method: 'delete',
      path: '/organizations/:id/members/:userId',
      summary: 'Remove a member (admin; only an owner removes an owner), or leave (any member); the last owner stays',
      tag: 'organizations',
      auth: 'user',
      params: memberParams,
      responses: { 204: 'removed', 409: 'it would leave the organization without an owner' },
      handler: async (req, res, { params }) => {
        const userId = req.auth!.userId;
        await sequelize.transaction(async (transaction) => {
          const callerRole = await lockAsMember(params.id, userId, transaction);
          const leaving = params.userId === userId;
          if (!leaving && !roleAtLeast(callerRole, 'admin')) throw forbidden('admin');
          const target = await OrganizationMember.findOne({ where: { organization_id: params.id, user_id: params.userId }, transaction });
          if (!target) throw notFound('member');
          if (!leaving && target.role === 'owner' && callerRole !== 'owner') throw forbidden('owner');
          if (target.role === 'owner') await assertAnotherOwner(params.id, transaction);
          await target.destroy({ transaction });
        });
        res.status(204).end();
      },
    }),
  ];
}
