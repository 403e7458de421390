import Joi from 'joi';
import { Op, type WhereOptions } from 'sequelize';
import { CONTENT_FORMATS, VERTICALS, type ContentFormat, type Role, type Template, type TemplateData, type Vertical } from '../../db/models';
import type { ApiDeps } from '../deps';
import { CAPTION_MODES } from '../../providers/captions';
import { HttpError } from '../errors';
import { planHasFeature } from '../limits';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { serializeTemplate } from '../serializers/templates';
import { forbidden, notFound, ownerColumns, ownerFor, roleAtLeast, roleOver } from '../tenancy';

/** The frame sizes the renderers produce: portrait, landscape, square and 4:5, in two scales. */
const TEMPLATE_RESOLUTIONS = ['1080x1920', '1920x1080', '1080x1080', '1080x1350', '720x1280', '1280x720'] as const;

const hexColour = Joi.string()
  .pattern(/^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/)
  .messages({ 'string.pattern.base': '{#label} must be a hex colour such as #FF6B35' });

const textStyle = {
  font_size: Joi.number().integer().min(8).max(400).required(),
  font_weight: Joi.string().valid('regular', 'bold').required(),
  position: Joi.string().valid('top', 'center', 'bottom').required(),
  color: hexColour,
  background: hexColour,
};
const animation = Joi.string().valid('none', 'fade', 'zoom_in', 'slide_up').required();
const sectionSeconds = Joi.number().min(0).max(30).required();

/** templates.template_data as db/models/json.ts TemplateData describes it. */
const templateData = Joi.object<TemplateData>({
  creatomate_template_id: Joi.string().max(100),
  duration: Joi.number().min(1).max(3600).required(),
  resolution: Joi.string().valid(...TEMPLATE_RESOLUTIONS).required(),
  elements: Joi.object({
    intro: Joi.object({ duration: sectionSeconds, animation, title: Joi.object(textStyle).required() }).required(),
    body: Joi.object({
      scene_duration: Joi.number().min(0.5).max(60).required(),
      transition: Joi.string().valid('cut', 'fade', 'slide').required(),
      motion: Joi.string().valid('static', 'ken_burns').required(),
      caption: Joi.object({
        ...textStyle,
        max_chars_per_line: Joi.number().integer().min(4).max(80).required(),
        mode: Joi.string().valid(...CAPTION_MODES),
        highlight_color: hexColour,
      }).required(),
    }).required(),
    outro: Joi.object({ duration: sectionSeconds, animation, cta: Joi.object(textStyle).required() }).required(),
  }).required(),
  fonts: Joi.array().items(Joi.string().trim().min(1).max(100)).min(1).max(5).required(),
  colors: Joi.object({ primary: hexColour.required(), secondary: hexColour.required(), background: hexColour, text: hexColour }).required(),
});

const templateFields = {
  name: schemas.name,
  description: Joi.string().max(2000).allow('', null),
  thumbnail_url: Joi.string().uri({ scheme: ['https', 'http'] }).max(500).allow(null),
  vertical: Joi.string().valid(...VERTICALS).allow(null),
  content_format: Joi.string().valid(...CONTENT_FORMATS).allow(null),
  template_data: templateData,
  is_active: Joi.boolean(),
};

interface TemplateInput {
  name?: string;
  description?: string | null;
  thumbnail_url?: string | null;
  vertical?: Vertical | null;
  content_format?: ContentFormat | null;
  template_data?: TemplateData;
  is_active?: boolean;
}

function isSystem(template: Template): boolean {
  return template.user_id === null && template.organization_id === null;
}

export function templateRoutes({ ctx }: ApiDeps): AnyRouteSpec[] {
  const { models } = ctx;
  const { Template, OrganizationMember } = models;

  /** A template the user can see; writes need a custom one and `need` over its owner (system ones are read-only). */
  async function requireTemplate(userId: string, id: string, need?: Role): Promise<Template> {
    const template = await Template.findByPk(id);
    if (!template) throw notFound('template');
    if (isSystem(template)) {
      if (need) throw new HttpError(403, 'read_only', 'system templates are read-only');
      return template;
    }
    const role = await roleOver(models, userId, template);
    if (!role) throw notFound('template');
    if (need && !roleAtLeast(role, need)) throw forbidden(need);
    return template;
  }

  return [
    route<Record<string, never>, { format?: ContentFormat; vertical?: Vertical; organization_id?: string }>({
      method: 'get',
      path: '/templates',
      summary:
        "Active system templates, the user's own custom templates and those of their organizations; each marked `available` for the plan of the user (or of `organization_id`): a premium template needs advanced_templates",
      tag: 'templates',
      auth: 'user',
      query: Joi.object({ format: Joi.string().valid(...CONTENT_FORMATS), vertical: Joi.string().valid(...VERTICALS), organization_id: schemas.id }),
      responses: { 200: '{ items }: each template with `available` (false: a premium template the plan does not include)' },
      handler: async (req, res, { query }) => {
        const userId = req.auth!.userId;
        const planOwner = ownerColumns(await ownerFor(models, userId, query.organization_id, 'viewer'));
        const premiumAllowed = await planHasFeature(ctx, planOwner, 'advanced_templates');
        const memberships = await OrganizationMember.findAll({ where: { user_id: userId }, attributes: ['organization_id'] });
        const visible: WhereOptions<Template>[] = [{ user_id: null, organization_id: null, is_active: true }, { user_id: userId }];
        if (memberships.length > 0) visible.push({ organization_id: { [Op.in]: memberships.map((m) => m.organization_id) } });
        const filters: WhereOptions<Template> = {
          ...(query.format ? { content_format: query.format } : {}),
          ...(query.vertical ? { vertical: query.vertical } : {}),
        };
        const templates = await Template.findAll({ where: { [Op.and]: [{ [Op.or]: visible }, filters] }, order: [['created_at', 'ASC'], ['id', 'ASC']] });
        res.json({ items: templates.map((t) => ({ ...serializeTemplate(t), available: !t.is_premium || premiumAllowed })) });
      },
    }),
    route<{ id: string }>({
      method: 'get',
      path: '/templates/:id',
      summary: 'One template',
      tag: 'templates',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: 'the template' },
      handler: async (req, res, { params }) => {
        res.json({ template: serializeTemplate(await requireTemplate(req.auth!.userId, params.id)) });
      },
    }),
    route<Record<string, never>, Record<string, never>, TemplateInput & { name: string; template_data: TemplateData; organization_id?: string }>({
      method: 'post',
      path: '/templates',
      summary: 'Create a custom template, personal or in an organization (editor or higher)',
      tag: 'templates',
      auth: 'user',
      body: Joi.object({
        ...templateFields,
        name: templateFields.name.required(),
        template_data: templateFields.template_data.required(),
        organization_id: schemas.id,
      }).required(),
      responses: { 201: 'the template' },
      handler: async (req, res, { body }) => {
        const { organization_id, ...fields } = body;
        const owner = ownerColumns(await ownerFor(models, req.auth!.userId, organization_id, 'editor'));
        const template = await Template.create({
          ...fields,
          ...owner,
          template_type: 'custom',
          description: fields.description ?? null,
          thumbnail_url: fields.thumbnail_url ?? null,
          vertical: fields.vertical ?? null,
          content_format: fields.content_format ?? null,
        });
        res.status(201).json({ template: serializeTemplate(template) });
      },
    }),
    route<{ id: string }, Record<string, never>, TemplateInput>({
      method: 'patch',
      path: '/templates/:id',
      summary: 'Change a custom template (editor or higher); system templates are read-only',
      tag: 'templates',
      auth: 'user',
      params: schemas.idParams,
      body: Joi.object(templateFields).min(1).required(),
      responses: { 200: 'the changed template', 403: 'read_only: a system template' },
      handler: async (req, res, { params, body }) => {
        const template = await requireTemplate(req.auth!.userId, params.id, 'editor');
        await template.update(body);
        res.json({ template: serializeTemplate(template) });
      },
    }),
    route<{ id: string }>({
      method: 'delete',
      path: '/templates/:id',
      summary: 'Delete a custom template (editor or higher); projects naming it fall back to a system template',
      tag: 'templates',
      auth: 'user',
      params: schemas.idParams,
      responses: { 204: 'deleted', 403: 'read_only: a system template' },
      handler: async (req, res, { params }) => {
        const template = await requireTemplate(req.auth!.userId, params.id, 'editor');
        await template.destroy();
        res.status(204).end();
      },
    }),
  ];
}
