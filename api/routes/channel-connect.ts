import Joi from 'joi';
import type { Response } from 'express';
import { PLATFORMS, type Platform, type Project } from '../../db/models';
import { moduleLogger } from '../../lib/logger';
import { ProviderError } from '../../providers/errors';
import { oauthErrorCode, pkcePair } from '../../providers/oauth';
import { CONNECT_VARIABLES, ConsentRefused, platformConsents } from '../../providers/platforms/oauth-connect';
import type { ProviderUsage } from '../../providers/types';
import type { ApiDeps } from '../deps';
import { HttpError } from '../errors';
import { route, schemas, type AnyRouteSpec } from '../registry';
import { requireProject } from '../tenancy';
import { connectAuthorizedChannel } from './channels-common';

const log = moduleLogger('channel-connect');

/**
 * Connecting a channel through its platform's consent page. An admin of the project asks for the
 * consent URL; its OAuth `state` is a single-use token (db/sessions.ts OneTimeTokens) standing for
 * the user, the project and the platform, and keeping the PKCE verifier server side (sealed). The platform
 * sends the browser back to the public callback, which uses the state up, exchanges the code,
 * reads the account and stores the channel with its tokens sealed, then sends the browser on (303)
 * to CHANNEL_CONNECT_RETURN_URL with the outcome.
 *
 * The state is not also tied to a browser cookie: the consent URL is asked for with a bearer token
 * (an API client, a single-page app on another origin, an API key), often not by the browser that
 * then opens it, and the API neither sets cookies nor allows credentialed cross-origin requests.
 */

/** What a consent link's state stands for. */
interface ConnectState {
  userId: string;
  projectId: string;
  platform: Platform;
  /** The PKCE verifier, sealed (SecretBox) to this user, project and platform. */
  codeVerifier?: string;
}

const verifierContext = (state: Pick<ConnectState, 'userId' | 'projectId' | 'platform'>): string => `channel-connect:${state.userId}:${state.projectId}:${state.platform}`;

interface CallbackQuery {
  state: string;
  code?: string;
  error?: string;
  error_description?: string;
}

type Outcome = { status: 'connected'; channel: string; project: string } | { status: 'error'; reason: string; project: string };

export function channelConnectRoutes({ ctx, box }: ApiDeps): AnyRouteSpec[] {
  const { config, models, db } = ctx;
  const consents = platformConsents(config);
  const redirectUri = (platform: Platform): string => `${config.api.publicUrl}/channels/oauth/${platform}/callback`;

  const consentFor = (platform: Platform) => {
    const consent = consents[platform];
    if (!consent) throw new HttpError(503, 'platform_not_configured', `connecting ${platform} channels is not configured on this deployment (${CONNECT_VARIABLES[platform]})`);
    return consent;
  };

  const sendBack = (res: Response, platform: Platform, outcome: Outcome): void => {
    const target = new URL(config.channelConnect.returnUrl);
    const fields = outcome.status === 'connected' ? { channel: outcome.channel, platform, status: outcome.status, project: outcome.project } : { platform, status: outcome.status, reason: outcome.reason, project: outcome.project };
    for (const [name, value] of Object.entries(fields)) target.searchParams.set(name, value);
    res.redirect(303, target.toString());
  };

  /** A call to the platform, recorded in api_usages for the project's owner. */
  const recordUsage = (project: Project, usage: ProviderUsage, error?: string) =>
    db.usage.insert({ user_id: project.user_id, organization_id: project.organization_id, content_id: null, job_id: null }, usage, error);

  return [
    route<{ projectId: string }, Record<string, never>, { platform: Platform }>({
      method: 'post',
      path: '/projects/:projectId/channels/connect',
      summary: "The platform's consent page to send the browser to, to connect (or reconnect) a channel of the project (admin or higher); the link works once, for a few minutes",
      tag: 'channels',
      auth: 'user',
      params: Joi.object({ projectId: schemas.id.required() }),
      body: Joi.object({ platform: Joi.string().valid(...PLATFORMS).required() }).required(),
      responses: { 200: '{ url, expires_at }: the consent page and when its link stops working', 503: 'platform_not_configured: this deployment has no app credentials for the platform' },
      handler: async (req, res, { params, body }) => {
        const userId = req.auth!.userId;
        const { project } = await requireProject(models, userId, params.projectId, 'admin');
        const consent = consentFor(body.platform);
        const pkce = consent.pkce ? pkcePair() : undefined;
        const bound = { userId, projectId: project.id, platform: body.platform };
        const state: ConnectState = { ...bound, ...(pkce ? { codeVerifier: box.encrypt(pkce.verifier, verifierContext(bound)) } : {}) };
        const { token, expiresAt } = await db.oneTimeTokens.issue('channel-connect', state, config.channelConnect.stateTtlSec);
        const url = consent.consentUrl({ state: token, redirectUri: redirectUri(body.platform), ...(pkce ? { codeChallenge: pkce.challenge } : {}) });
        res.json({ url, expires_at: expiresAt });
      },
    }),
    route<{ platform: Platform }, CallbackQuery>({
      method: 'get',
      path: '/channels/oauth/:platform/callback',
      summary:
        'Where the platform sends the browser back after consent: stores the channel (tokens sealed) and redirects to CHANNEL_CONNECT_RETURN_URL with channel, platform, project and status=connected, or status=error and a reason',
      tag: 'channels',
      auth: 'public',
      params: Joi.object({ platform: Joi.string().valid(...PLATFORMS).required() }),
      // The platforms add parameters of their own (Google: scope, authuser, prompt; TikTok: scopes).
      query: Joi.object({
        state: Joi.string().max(200).required(),
        code: Joi.string().max(4096),
        error: Joi.string().max(200),
        error_description: Joi.string().max(2000),
      })
        .or('code', 'error')
        .unknown(true),
      responses: {
        303: 'to CHANNEL_CONNECT_RETURN_URL: ?channel=<id>&platform=…&project=…&status=connected, or ?platform=…&project=…&status=error&reason=… (access_denied or another refusal of the platform, insufficient_scope, no_channel, plan_limit, platform_refused, platform_unavailable)',
        400: 'invalid_state: the state is unknown, used, expired or was issued for another platform; nothing is stored',
      },
      handler: async (_req, res, { params, query }) => {
        const { platform } = params;
        const state = await db.oneTimeTokens.consume<ConnectState>('channel-connect', query.state);
        if (!state) throw new HttpError(400, 'invalid_state', 'the state is unknown, used or expired: ask for a new consent link', { 'query.state': 'unknown, used or expired' });
        if (state.platform !== platform) {
          throw new HttpError(400, 'invalid_state', `the state was issued for ${state.platform}, not ${platform}`, { 'query.state': `issued for ${state.platform}` });
        }
        const context = { userId: state.userId, projectId: state.projectId, platform };
        if (query.error !== undefined || query.code === undefined) {
          // The platform's own error code as the reason, when it is one (`access_denied`, `user_cancelled`…).
          const reason = oauthErrorCode(query.error) ?? 'refused';
          log.info({ ...context, reason }, 'the platform refused the consent');
          return sendBack(res, platform, { status: 'error', reason, project: state.projectId });
        }
        const usages: [ProviderUsage, string?][] = [];
        let project: Project | undefined;
        try {
          // The user's role is checked again: it may have been taken away since the link was made.
          ({ project } = await requireProject(models, state.userId, state.projectId, 'admin'));
          const account = await consentFor(platform).connect(
            { code: query.code, redirectUri: redirectUri(platform), ...(state.codeVerifier ? { codeVerifier: box.decrypt(state.codeVerifier, verifierContext(state)) } : {}) },
            {
              onUsage: (usage) => {
                usages.push([usage]);
              },
              onFailedCall: (usage, error) => {
                usages.push([usage, error]);
              },
            },
          );
          const { channel, created } = await connectAuthorizedChannel(
            ctx,
            box,
            project,
            { platform, channel_id: account.channelId, channel_name: account.channelName, channel_url: account.channelUrl },
            { accessToken: account.accessToken, refreshToken: account.refreshToken, expiresAt: account.expiresAt },
          );
          log.info({ ...context, channelId: channel.id, created }, created ? 'channel connected' : 'channel reconnected');
          sendBack(res, platform, { status: 'connected', channel: channel.id, project: state.projectId });
        } catch (err) {
          const reason =
            err instanceof HttpError ? err.code
            : err instanceof ConsentRefused ? err.reason
            : err instanceof ProviderError ? (err.retryable ? 'platform_unavailable' : 'platform_refused')
            : undefined;
          if (reason === undefined) throw err;
          log.warn({ ...context, reason, error: (err as Error).message }, 'the channel was not connected');
          sendBack(res, platform, { status: 'error', reason, project: state.projectId });
        } finally {
          if (project) for (const [usage, error] of usages) await recordUsage(project, usage, error);
        }
      },
    }),
  ];
}
