import type { Template } from '../../db/models';

/** What the API shows of a template; `is_system` marks the read-only ones (no owner), `requires_feature` the premium ones. */
export function serializeTemplate(template: Template) {
  return {
    id: template.id,
    user_id: template.user_id,
    organization_id: template.organization_id,
    name: template.name,
    description: template.description,
    thumbnail_url: template.thumbnail_url,
    template_type: template.template_type,
    is_system: template.user_id === null && template.organization_id === null,
    vertical: template.vertical,
    content_format: template.content_format,
    template_data: template.template_data,
    is_active: template.is_active,
    is_premium: template.is_premium,
    /** The plan feature a project needs to use the template (premium templates: advanced_templates). */
    requires_feature: template.is_premium ? ('advanced_templates' as const) : null,
    usage_count: template.usage_count,
    created_at: template.created_at,
    updated_at: template.updated_at,
  };
}
