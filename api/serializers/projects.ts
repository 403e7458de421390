import type { Project } from '../../db/models';

/** What the API shows of a project: an explicit field list, never the model's toJSON. */
export function serializeProject(project: Project) {
  return {
    id: project.id,
    user_id: project.user_id,
    organization_id: project.organization_id,
    name: project.name,
    description: project.description,
    vertical: project.vertical,
    sub_category: project.sub_category,
    content_format: project.content_format,
    language: project.language,
    target_platforms: project.target_platforms,
    tone: project.tone,
    style_preset: project.style_preset,
    status: project.status,
    is_auto_publish: project.is_auto_publish,
    created_at: project.created_at,
    updated_at: project.updated_at,
  };
}
