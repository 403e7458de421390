import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { QueryTypes } from 'sequelize';
import { issueAccessToken } from '../../api/auth/tokens';
import { ROLES, type Role, type SubscriptionStatus } from '../../db/models';
import type { ApiHarness, ApiResponse } from './api';

/**
 * The tenants the API suites act as: users with access tokens, an organization with one member per
 * role beside a rival organization, their subscriptions and projects, and the raw rows a refused
 * request must leave as they were. Everything is made with the models, not through the API under test.
 */

export interface Account {
  userId: string;
  token: string;
  email: string;
}

/** A role in organization A, a user of no organization, or the owner of organization B. */
export type Actor = Role | 'outsider' | 'other';

export interface People {
  /** Organization A: one member per role. */
  orgId: string;
  /** Organization B, owned by `other`. */
  otherOrgId: string;
  as: Record<Actor, Account>;
}

/** Who owns a subscription or a project: a user or an organization. */
export interface OwnerIds {
  user_id?: string;
  organization_id?: string;
}

/**
 * A user made with the model and given an access token directly: /auth/register allows 20 a
 * minute per address, counted in the shared Redis, which a suite of many users would exceed.
 */
export async function createAccount(api: ApiHarness, name: string): Promise<Account> {
  const email = `${name.toLowerCase().replace(/[^a-z0-9]+/g, '-')}-${randomBytes(5).toString('hex')}@example.com`;
  const user = await api.ctx.models.User.create({ email, name });
  const { tokenSecret, accessTokenTtlSec } = api.ctx.config.auth;
  return { userId: user.id, token: issueAccessToken(user.id, tokenSecret, accessTokenTtlSec).token, email };
}

/**
 * Organization A with one member per role, a user of no organization (`outsider`), and the owner of
 * organization B (`other`); with `plan`, both organizations subscribe to that plan.
 */
export async function createPeople(api: ApiHarness, options: { plan?: string } = {}): Promise<People> {
  const { Organization, OrganizationMember } = api.ctx.models;
  const organization = (name: string) => Organization.create({ name, slug: `${name}-${randomBytes(4).toString('hex')}`, logo_url: null, custom_domain: null });
  const [org, rival] = [await organization('acme'), await organization('rival')];
  const as = {} as Record<Actor, Account>;
  for (const role of ROLES) {
    as[role] = await createAccount(api, role);
    await OrganizationMember.create({ organization_id: org.id, user_id: as[role].userId, role, invited_by: null });
  }
  as.outsider = await createAccount(api, 'outsider');
  as.other = await createAccount(api, 'rival owner');
  await OrganizationMember.create({ organization_id: rival.id, user_id: as.other.userId, role: 'owner', invited_by: null });
  if (options.plan) for (const o of [org, rival]) await subscribe(api, { organization_id: o.id }, options.plan);
  return { orgId: org.id, otherOrgId: rival.id, as };
}

/** A subscription of `owner` to the seeded plan `code`, with the plan's monthly credits. */
export async function subscribe(api: ApiHarness, owner: OwnerIds, code: string, status: SubscriptionStatus = 'active'): Promise<void> {
  const { Subscription, SubscriptionPlan } = api.ctx.models;
  const plan = await SubscriptionPlan.findOne({ where: { code } });
  assert.ok(plan, `plan ${code} is seeded`);
  await Subscription.create({
    user_id: owner.user_id ?? null,
    organization_id: owner.organization_id ?? null,
    plan_id: plan.id,
    status,
    started_at: new Date(),
    current_period_start: null,
    current_period_end: null,
    cancelled_at: null,
    payment_method_id: null,
    stripe_subscription_id: null,
    credits_remaining: plan.monthly_credits,
  });
}

/** A project made with the model (no plan limit applies); returns its id. */
export async function createProject(api: ApiHarness, owner: OwnerIds, name: string): Promise<string> {
  const project = await api.ctx.models.Project.create({ organization_id: owner.organization_id ?? null, user_id: owner.user_id ?? null, name, vertical: 'tech' } as never);
  return project.id;
}

/** The row of `table` with this id as stored (every column), or null. */
export async function rawRow(api: ApiHarness, table: string, id: string): Promise<unknown> {
  const rows = await api.ctx.sequelize.query(`SELECT * FROM ${table} WHERE id = :id`, { replacements: { id }, type: QueryTypes.SELECT });
  return rows[0] ?? null;
}

/** Runs `call` as each actor on a fresh resource; a refusal must leave the resource as it was. */
export async function roleMatrix(
  as: Record<Actor, Account>,
  expected: Record<Actor, number>,
  fresh: () => Promise<string>,
  snapshot: (id: string) => Promise<unknown>,
  call: (member: Account, id: string) => Promise<ApiResponse>,
): Promise<void> {
  for (const [actor, status] of Object.entries(expected) as [Actor, number][]) {
    const id = await fresh();
    const before = await snapshot(id);
    const res = await call(as[actor], id);
    assert.equal(res.status, status, `${actor}: ${res.text}`);
    if (status >= 400) assert.deepEqual(await snapshot(id), before, `${actor}: refused, yet the row changed`);
  }
}
