import { EMPTY_SCRIPT, type Models } from '../models';

export const DEMO_EMAIL = 'demo@autoclip.local';

const DEMO_TOPIC = 'AI로 60초 만에 만드는 숏폼 영상: 자동화가 바꾸는 콘텐츠 제작';

/**
 * The demo tenant `npm start` produces its video for: a user who owns an organization with a Pro
 * subscription and one Korean tech project without channels. Idempotent: found by the demo email.
 */
export async function ensureDemoTenant(models: Models): Promise<{ userId: string; organizationId: string; projectId: string }> {
  const { User, Organization, OrganizationMember, SubscriptionPlan, Subscription, Project } = models;
  const [user] = await User.findOrCreate({ where: { email: DEMO_EMAIL }, defaults: { email: DEMO_EMAIL, name: '데모 사용자' } as never });
  const [organization] = await Organization.findOrCreate({ where: { slug: 'autoclip-demo' }, defaults: { name: 'AutoClip 데모', slug: 'autoclip-demo', plan_type: 'pro' } as never });
  await OrganizationMember.findOrCreate({
    where: { organization_id: organization.id, user_id: user.id },
    defaults: { organization_id: organization.id, user_id: user.id, role: 'owner' } as never,
  });
  const plan = await SubscriptionPlan.findOne({ where: { code: 'pro' } });
  if (!plan) throw new Error('reference data is missing: run the seed first');
  const active = await Subscription.findOne({ where: { organization_id: organization.id, status: 'active' } });
  if (!active) {
    const now = new Date();
    await Subscription.create({
      organization_id: organization.id,
      user_id: null,
      plan_id: plan.id,
      started_at: now,
      current_period_start: now,
      current_period_end: new Date(now.getTime() + 30 * 24 * 3600_000),
      credits_remaining: plan.monthly_credits,
    } as never);
  }
  const [project] = await Project.findOrCreate({
    where: { organization_id: organization.id, name: '데모: 테크 숏폼' },
    defaults: {
      organization_id: organization.id,
      user_id: null,
      name: '데모: 테크 숏폼',
      vertical: 'tech',
      language: 'ko',
      content_format: 'short',
      tone: 'casual',
      target_platforms: ['youtube_shorts'],
    } as never,
  });
  return { userId: user.id, organizationId: organization.id, projectId: project.id };
}

/** A new draft content on a topic, the way the API creates one. */
export async function createDemoContent(models: Models, projectId: string): Promise<string> {
  const content = await models.Content.create({
    project_id: projectId,
    title: DEMO_TOPIC,
    script: EMPTY_SCRIPT,
    source_type: 'manual',
  } as never);
  return content.id;
}
