import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EMPTY_SCRIPT } from '../../db/models';
import { PRIORITY_RENDERING_KEY, startProduction } from '../../control/productions';
import { SYSTEM_TEMPLATES } from '../../db/seeds/reference-data';
import { produceContentWorkflowId } from '../../workflows/produce-content';
import { createApiHarness, type ApiHarness } from '../support/api';
import { createAccount, createProject, subscribe, type Account, type OwnerIds } from '../support/tenants';

/** Each plan feature of subscription_plans.features, allowed on a plan with it and refused (403) without. */
describe('plan features', () => {
  let api: ApiHarness;
  const started: string[] = [];

  before(async () => {
    api = await createApiHarness();
  });
  after(async () => {
    await Promise.allSettled(started.map((id) => api.ctx.temporal.workflow.getHandle(produceContentWorkflowId(id)).terminate('test over')));
    try {
      api.assertNoLeaks();
    } finally {
      await api.close();
    }
  });

  /** A user subscribed to `plan` (none: the starter plan's features apply). */
  async function userOn(plan: string | null, name = 'member'): Promise<Account> {
    const account = await createAccount(api, name);
    if (plan) await subscribe(api, { user_id: account.userId }, plan);
    return account;
  }

  /** An organization owned by `owner`, on `plan`. */
  async function organizationOn(plan: string, owner: Account): Promise<string> {
    const { Organization, OrganizationMember } = api.ctx.models;
    const org = await Organization.create({ name: 'Seats', slug: `seats-${randomBytes(5).toString('hex')}`, logo_url: null, custom_domain: null });
    await OrganizationMember.create({ organization_id: org.id, user_id: owner.userId, role: 'owner', invited_by: null });
    await subscribe(api, { organization_id: org.id }, plan);
    return org.id;
  }

  async function premiumTemplate(owner: OwnerIds): Promise<string> {
    const template = await api.ctx.models.Template.create({
      name: 'Premium look',
      description: null,
      thumbnail_url: null,
      template_type: 'custom',
      vertical: null,
      content_format: 'short',
      template_data: SYSTEM_TEMPLATES[0]!.template_data,
      user_id: owner.user_id ?? null,
      organization_id: owner.organization_id ?? null,
      is_premium: true,
    } as never);
    return template.id;
  }

  describe('team_seats', () => {
    it('adds members up to the plan’s seats, then answers 403 plan_limit', async () => {
      const owner = await userOn(null, 'owner');
      const starterOrg = await organizationOn('starter', owner);
      const newcomer = await createAccount(api, 'newcomer');
      const refused = await api.request('POST', `/organizations/${starterOrg}/members`, { token: owner.token, body: { email: newcomer.email, role: 'editor' } });
      assert.equal(refused.status, 403, refused.text);
      assert.equal(refused.body.error.code, 'plan_limit');
      assert.equal(refused.body.error.details.limit, 'team_seats');
      assert.equal(refused.body.error.details.allowed, '1');

      const proOrg = await organizationOn('pro', owner);
      for (const role of ['admin', 'viewer']) {
        const who = await createAccount(api, role);
        const added = await api.request('POST', `/organizations/${proOrg}/members`, { token: owner.token, body: { email: who.email, role } });
        assert.equal(added.status, 201, added.text);
      }
      const fourth = await createAccount(api, 'fourth');
      const full = await api.request('POST', `/organizations/${proOrg}/members`, { token: owner.token, body: { email: fourth.email, role: 'viewer' } });
      assert.equal(full.status, 403, full.text);
      assert.equal(full.body.error.code, 'plan_limit');
      assert.equal(full.body.error.details.plan, 'pro');
    });

    it('lets only one of two concurrent adds take the last seat', async () => {
      const owner = await userOn(null, 'owner');
      const proOrg = await organizationOn('pro', owner);
      const first = await createAccount(api, 'first');
      assert.equal((await api.request('POST', `/organizations/${proOrg}/members`, { token: owner.token, body: { email: first.email, role: 'viewer' } })).status, 201);
      const racers = await Promise.all([createAccount(api, 'racer a'), createAccount(api, 'racer b'), createAccount(api, 'racer c')]);
      const answers = await Promise.all(racers.map((r) => api.request('POST', `/organizations/${proOrg}/members`, { token: owner.token, body: { email: r.email, role: 'viewer' } })));
      assert.deepEqual(answers.map((a) => a.status).sort(), [201, 403, 403]);
      assert.equal(await api.ctx.models.OrganizationMember.count({ where: { organization_id: proOrg } }), 3);
    });
  });

  describe('advanced_templates (premium templates)', () => {
    it('refuses a premium template on a plan without it, and accepts it on one with it', async () => {
      const starter = await userOn('starter');
      const starterTemplate = await premiumTemplate({ user_id: starter.userId });
      const refused = await api.request('POST', '/projects', { token: starter.token, body: { name: 'Premium?', vertical: 'tech', style_preset: { template_id: starterTemplate } } });
      assert.equal(refused.status, 403, refused.text);
      assert.equal(refused.body.error.code, 'plan_feature');
      assert.equal(refused.body.error.details.feature, 'advanced_templates');
      assert.ok(refused.body.error.details['body.style_preset.template_id']);

      const plain = await api.request('POST', '/projects', { token: starter.token, body: { name: 'Plain', vertical: 'tech', style_preset: { template_id: SYSTEM_TEMPLATES[0]!.id } } });
      assert.equal(plain.status, 201, plain.text);
      const patched = await api.request('PATCH', `/projects/${plain.body.project.id}`, { token: starter.token, body: { style_preset: { template_id: starterTemplate } } });
      assert.equal(patched.status, 403, patched.text);
      assert.equal(patched.body.error.code, 'plan_feature');

      const listed = await api.request('GET', '/templates', { token: starter.token });
      assert.equal(listed.status, 200);
      const mine = listed.body.items.find((t: { id: string }) => t.id === starterTemplate);
      assert.equal(mine.available, false);
      assert.equal(mine.requires_feature, 'advanced_templates');
      assert.ok(listed.body.items.filter((t: { is_premium: boolean }) => !t.is_premium).every((t: { available: boolean }) => t.available));

      const pro = await userOn('pro');
      const proTemplate = await premiumTemplate({ user_id: pro.userId });
      const accepted = await api.request('POST', '/projects', { token: pro.token, body: { name: 'Premium', vertical: 'tech', style_preset: { template_id: proTemplate } } });
      assert.equal(accepted.status, 201, accepted.text);
      const proList = await api.request('GET', '/templates', { token: pro.token });
      assert.equal(proList.body.items.find((t: { id: string }) => t.id === proTemplate).available, true);
    });
  });

  describe('custom_voices', () => {
    it('accepts style_preset.voice only on a plan with custom_voices', async () => {
      const pro = await userOn('pro');
      const refused = await api.request('POST', '/projects', { token: pro.token, body: { name: 'Voiced', vertical: 'tech', style_preset: { voice: 'ko+f3' } } });
      assert.equal(refused.status, 403, refused.text);
      assert.equal(refused.body.error.code, 'plan_feature');
      assert.equal(refused.body.error.details.feature, 'custom_voices');
      assert.ok(refused.body.error.details['body.style_preset.voice']);

      const business = await userOn('business');
      const accepted = await api.request('POST', '/projects', { token: business.token, body: { name: 'Voiced', vertical: 'tech', style_preset: { voice: 'ko+f3' } } });
      assert.equal(accepted.status, 201, accepted.text);
      assert.equal(accepted.body.project.style_preset.voice, 'ko+f3');
    });
  });

  describe('priority_rendering', () => {
    async function startFor(plan: string): Promise<number | undefined> {
      const owner = await userOn(plan);
      const projectId = await createProject(api, { user_id: owner.userId }, `On ${plan}`);
      const content = await api.ctx.models.Content.create({ project_id: projectId, title: 'Prioritised', script: EMPTY_SCRIPT, source_type: 'manual' } as never);
      const handle = await startProduction(api.ctx, content.id);
      started.push(content.id);
      const described = await handle.describe();
      return described.priority?.priorityKey;
    }

    it('starts productions of owners whose plan has it with a higher task priority', async () => {
      assert.equal(await startFor('pro'), PRIORITY_RENDERING_KEY);
      const standard = await startFor('starter');
      assert.ok(standard === undefined || standard === 0, `no priority of its own (got ${standard})`);
    });
  });

  describe('white_label', () => {
    it('reads an organization’s brand colours and logo as its branding', async () => {
      const owner = await userOn(null, 'owner');
      const org = await organizationOn('business', owner);
      await api.ctx.models.Organization.update({ brand_colors: { primary: '#112233', secondary: '#445566' }, logo_url: 'https://cdn.example.com/logo.png' }, { where: { id: org } });
      const branding = await api.ctx.db.plans.brandingOf({ user_id: null, organization_id: org });
      assert.deepEqual(branding, { colors: { primary: '#112233', secondary: '#445566' }, logoUrl: 'https://cdn.example.com/logo.png' });
      assert.equal((await api.ctx.db.plans.featuresOf({ user_id: null, organization_id: org })).features.white_label, true);
      assert.equal(await api.ctx.db.plans.brandingOf({ user_id: owner.userId, organization_id: null }), null);
    });
  });

  describe('templates.usage_count', () => {
    it('moves by one per production run, however many times its render is retried', async () => {
      const owner = await userOn('pro');
      const projectId = await createProject(api, { user_id: owner.userId }, 'Counted');
      const templateId = await premiumTemplate({ user_id: owner.userId });
      const { Content, ContentJob, Template } = api.ctx.models;
      const content = await Content.create({ project_id: projectId, title: 'Counted', script: EMPTY_SCRIPT, source_type: 'manual' } as never);
      const renderJob = async (runId: string) =>
        (await ContentJob.create({ content_id: content.id, job_type: 'render', status: 'running', progress: 0, retry_count: 0, started_at: new Date(), completed_at: null, result: { run_id: runId }, error_message: null, external_job_id: null } as never)).id;
      const usage = async () => (await Template.findByPk(templateId))!.usage_count;

      const firstRun = await renderJob('run-1');
      assert.equal(await api.ctx.db.plans.countTemplateUseOnce(templateId, firstRun), true);
      assert.equal(await api.ctx.db.plans.countTemplateUseOnce(templateId, firstRun), false, 'a retried attempt of the same run counts nothing');
      assert.equal(await usage(), 1);
      const retried = await ContentJob.findByPk(firstRun);
      assert.equal((retried!.result as { run_id: string }).run_id, 'run-1', 'the job row keeps its run');

      const secondRun = await renderJob('run-2');
      const both = await Promise.all([api.ctx.db.plans.countTemplateUseOnce(templateId, secondRun), api.ctx.db.plans.countTemplateUseOnce(templateId, secondRun)]);
      assert.deepEqual(both.sort(), [false, true]);
      assert.equal(await usage(), 2);
    });
  });

  describe('paused and archived projects', () => {
    it('refuses generate and retry with 409 project_paused, and produces again once active', async () => {
      const owner = await userOn('pro');
      const project = await api.request('POST', '/projects', { token: owner.token, body: { name: 'Pausable', vertical: 'tech' } });
      assert.equal(project.status, 201, project.text);
      const projectId: string = project.body.project.id;
      const { Content } = api.ctx.models;
      const draft = await Content.create({ project_id: projectId, title: 'Waits', script: EMPTY_SCRIPT, source_type: 'manual' } as never);
      const failed = await Content.create({ project_id: projectId, title: 'Failed', script: EMPTY_SCRIPT, source_type: 'manual', status: 'failed' } as never);

      for (const status of ['paused', 'archived'] as const) {
        assert.equal((await api.request('PATCH', `/projects/${projectId}`, { token: owner.token, body: { status } })).status, 200);
        const generate = await api.request('POST', `/contents/${draft.id}/generate`, { token: owner.token });
        assert.equal(generate.status, 409, generate.text);
        assert.equal(generate.body.error.code, 'project_paused');
        assert.equal(generate.body.error.status, 409);
        const retry = await api.request('POST', `/contents/${failed.id}/retry`, { token: owner.token });
        assert.equal(retry.status, 409, retry.text);
        assert.equal(retry.body.error.code, 'project_paused');
      }
      assert.equal((await Content.findByPk(draft.id))!.status, 'draft');

      assert.equal((await api.request('PATCH', `/projects/${projectId}`, { token: owner.token, body: { status: 'active' } })).status, 200);
      const generate = await api.request('POST', `/contents/${draft.id}/generate`, { token: owner.token });
      assert.equal(generate.status, 202, generate.text);
      started.push(draft.id);
    });

    it('tells the ingest activity that a paused project’s sources are not to run', async () => {
      const owner = await userOn('pro');
      const projectId = await createProject(api, { user_id: owner.userId }, 'Fed');
      const source = await api.ctx.models.DataSource.create({ project_id: projectId, name: 'Feed', source_type: 'rss', config: { feed_url: 'https://news.example.com/feed.xml' }, schedule_cron: null } as never);
      assert.equal(await api.ctx.db.sources.projectIsActive(source.id), true);
      await api.ctx.models.Project.update({ status: 'paused' }, { where: { id: projectId } });
      assert.equal(await api.ctx.db.sources.projectIsActive(source.id), false);
      const loaded = await api.ctx.db.sources.withProject(source.id);
      assert.equal(loaded!.project.status, 'paused');
    });
  });
});

