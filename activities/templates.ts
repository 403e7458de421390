import { ApplicationFailure } from '@temporalio/common';
import type { PlanFeatures, Project, Template } from '../db/models';
import type { Branding } from '../db/repositories/plans';
import type { Stores } from '../db/stores';
import { moduleLogger } from '../lib/logger';

const log = moduleLogger('templates');

/** What the owner's plan changes in a production: its features and, with white_label, the organization's branding. */
export interface PlanLook {
  features: PlanFeatures;
  branding: Branding | null;
}

export async function planLookOf(db: Stores, project: Project): Promise<PlanLook> {
  const { features } = await db.plans.featuresOf(project);
  return { features, branding: features.white_label ? await db.plans.brandingOf(project) : null };
}

/**
 * The project's chosen template (style_preset.template_id), else the system template for its
 * format and vertical. A premium template (`is_premium`) needs `advanced_templates`: the API
 * refuses it on other plans, and when the owner's plan was downgraded since, the production falls
 * back to the system template with a warning rather than failing — a downgrade must not make every
 * (scheduled) production of the project fail, and the preset is kept, so upgrading restores it.
 */
export async function templateFor(db: Stores, project: Project, features: PlanFeatures): Promise<Template> {
  const { Template } = db.models;
  const chosen = typeof project.style_preset?.template_id === 'string' ? await Template.findByPk(project.style_preset.template_id) : null;
  if (chosen && chosen.is_premium && !features.advanced_templates) {
    log.warn({ projectId: project.id, templateId: chosen.id }, "premium template not used: the owner's plan no longer includes advanced_templates; the system template renders instead");
  } else if (chosen) {
    return chosen;
  }
  const candidates = await Template.findAll({
    where: { template_type: 'system', content_format: project.content_format, is_active: true },
    order: [['created_at', 'ASC']],
  });
  const template = candidates.find((t) => t.vertical === project.vertical) ?? candidates.find((t) => t.vertical === null) ?? candidates[0];
  if (!template) throw ApplicationFailure.nonRetryable(`no active system template for format ${project.content_format}`, 'NoTemplate');
  return template;
}
