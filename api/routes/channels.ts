import Joi from 'joi';
import { UniqueConstraintError } from 'sequelize';
import { PLATFORMS, VISIBILITIES, type Channel, type Platform, type Role, type UploadSettings } from '../../db/models';
import { isValidTimeZone } from '../../lib/calendar';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { serializeChannel } from '../serializers/channels';
import { requireInProject, requireProject } from '../tenancy';
import { createChannel } from './channels-common';

const uploadSettings = Joi.object<UploadSettings>({
  default_visibility: Joi.string().valid(...VISIBILITIES),
  auto_publish: Joi.boolean(),
  schedule_time: Joi.string()
    .pattern(/^([01]\d|2[0-3]):[0-5]\d$/)
    .messages({ 'string.pattern.base': 'schedule_time must be a 24-hour time HH:MM' }),
  timezone: Joi.string()
    .max(64)
    .custom((value: string, helpers) => (isValidTimeZone(value) ? value : helpers.message({ custom: 'timezone must be an IANA time zone such as Asia/Seoul' }))),
  made_for_kids: Joi.boolean(),
});

const token = Joi.string().min(1).max(4096);
const channelName = Joi.string().trim().max(255).allow(null);
const channelUrl = Joi.string().uri({ scheme: ['https', 'http'] }).max(500).allow(null);

/** The refresh token and expiry describe an access token: they come with one or not at all. */
function onlyWithAccessToken(schema: Joi.Schema): Joi.Schema {
  return schema.when('access_token', { not: Joi.exist(), then: Joi.forbidden().messages({ 'any.unknown': '{#label} is only accepted together with access_token' }) });
}

interface ConnectBody {
  platform: Platform;
  channel_id: string;
  channel_name?: string | null;
  channel_url?: string | null;
  access_token: string;
  refresh_token?: string | null;
  token_expires_at?: Date | null;
  upload_settings?: UploadSettings;
}

type ChangeBody = Partial<Omit<ConnectBody, 'platform' | 'channel_id'>>;

export function channelRoutes({ ctx, box }: ApiDeps): AnyRouteSpec[] {
  const { models } = ctx;
  const { Channel } = models;

  /** A channel the user can see through its project, checking `need`; 404 when it is not theirs to see. */
  const requireChannel = async (userId: string, id: string, need: Role): Promise<Channel> => (await requireInProject(models, Channel, 'channel', userId, id, need)).row;

  return [
    route<{ projectId: string }, Record<string, never>, ConnectBody>({
      method: 'post',
      path: '/projects/:projectId/channels',
      summary: "Connect a platform channel with its OAuth tokens (admin or higher); counts against the owner's max_channels",
      tag: 'channels',
      auth: 'user',
      params: Joi.object({ projectId: schemas.id.required() }),
      body: Joi.object({
        platform: Joi.string().valid(...PLATFORMS).required(),
        channel_id: Joi.string().trim().min(1).max(255).required(),
        channel_name: channelName,
        channel_url: channelUrl,
        access_token: token.required(),
        refresh_token: token.allow(null),
        token_expires_at: Joi.date().iso().allow(null),
        upload_settings: uploadSettings,
      }).required(),
      responses: { 201: 'the channel (without its tokens)', 403: 'plan_limit: the plan allows no more channels', 409: 'this channel is already connected to the project' },
      handler: async (req, res, { params, body }) => {
        const { project } = await requireProject(models, req.auth!.userId, params.projectId, 'admin');
        try {
          const channel = await createChannel(
            ctx,
            box,
            project,
            { platform: body.platform, channel_id: body.channel_id, channel_name: body.channel_name ?? null, channel_url: body.channel_url ?? null },
            { accessToken: body.access_token, refreshToken: body.refresh_token ?? null, expiresAt: body.token_expires_at ?? null },
            body.upload_settings,
          );
          res.status(201).json({ channel: serializeChannel(channel) });
        } catch (err) {
          if (err instanceof UniqueConstraintError) throw new HttpError(409, 'conflict', 'this channel is already connected to the project', { 'body.channel_id': 'already connected' });
          throw err;
        }
      },
    }),
    route<{ projectId: string }>({
      method: 'get',
      path: '/projects/:projectId/channels',
      summary: "A project's channels",
      tag: 'channels',
      auth: 'user',
      params: Joi.object({ projectId: schemas.id.required() }),
      responses: { 200: '{ items }' },
      handler: async (req, res, { params }) => {
        const { project } = await requireProject(models, req.auth!.userId, params.projectId, 'viewer');
        const channels = await Channel.findAll({ where: { project_id: project.id }, order: [['created_at', 'ASC'], ['id', 'ASC']] });
        res.json({ items: channels.map(serializeChannel) });
      },
    }),
    route<{ id: string }>({
      method: 'get',
      path: '/channels/:id',
      summary: 'One channel (without its tokens)',
      tag: 'channels',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: 'the channel' },
      handler: async (req, res, { params }) => {
        res.json({ channel: serializeChannel(await requireChannel(req.auth!.userId, params.id, 'viewer')) });
      },
    }),
    route<{ id: string }, Record<string, never>, ChangeBody>({
      method: 'patch',
      path: '/channels/:id',
      summary: 'Rename a channel, replace its upload settings, or give it new tokens, which reconnects it (admin or higher)',
      tag: 'channels',
      auth: 'user',
      params: schemas.idParams,
      body: Joi.object({
        channel_name: channelName,
        channel_url: channelUrl,
        upload_settings: uploadSettings,
        access_token: token,
        refresh_token: onlyWithAccessToken(token.allow(null)),
        token_expires_at: onlyWithAccessToken(Joi.date().iso().allow(null)),
      })
        .min(1)
        .required(),
      responses: { 200: 'the changed channel' },
      handler: async (req, res, { params, body }) => {
        const channel = await requireChannel(req.auth!.userId, params.id, 'admin');
        if (body.channel_name !== undefined) channel.channel_name = body.channel_name;
        if (body.channel_url !== undefined) channel.channel_url = body.channel_url;
        if (body.upload_settings !== undefined) channel.upload_settings = body.upload_settings;
        if (body.access_token !== undefined) {
          channel.connectWith(box, { accessToken: body.access_token, refreshToken: body.refresh_token, expiresAt: body.token_expires_at });
        }
        await channel.save();
        res.json({ channel: serializeChannel(channel) });
      },
    }),
    route<{ id: string }>({
      method: 'post',
      path: '/channels/:id/disconnect',
      summary: 'Disconnect a channel and forget its tokens (admin or higher)',
      tag: 'channels',
      auth: 'user',
      params: schemas.idParams,
      responses: { 200: 'the disconnected channel' },
      handler: async (req, res, { params }) => {
        const channel = await requireChannel(req.auth!.userId, params.id, 'admin');
        channel.clearTokens();
        channel.status = 'disconnected';
        channel.status_reason = null;
        await channel.save();
        res.json({ channel: serializeChannel(channel) });
      },
    }),
    route<{ id: string }>({
      method: 'delete',
      path: '/channels/:id',
      summary: 'Delete a channel and its upload records (admin or higher)',
      tag: 'channels',
      auth: 'user',
      params: schemas.idParams,
      responses: { 204: 'deleted' },
      handler: async (req, res, { params }) => {
        const channel = await requireChannel(req.auth!.userId, params.id, 'admin');
        await channel.destroy();
        res.status(204).end();
      },
    }),
  ];
}
