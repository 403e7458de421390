import type { AppContext } from '../control/app-context';
import { appLink, passwordStamp, receivesNotification, sendMail, type PasswordResetPayload } from '../control/email';
import { ContentNotFoundError } from '../db/repositories/contents';
import type { User } from '../db/models';
import { moduleLogger } from '../lib/logger';
import {
  contentFailedMail,
  contentPublishedMail,
  contentReadyMail,
  mailLocale,
  passwordResetMail,
  passwordResetUseProviderMail,
  webhookDisabledMail,
  type RenderedMail,
} from '../providers/email/messages';
import { toActivityFailure } from './failures';

const log = moduleLogger('email');

/** The content events that also come by email. */
export type ContentEmailEvent = 'content.ready' | 'content.failed' | 'content.published';

/**
 * A queued mail (workflows/deliver-email.ts): whom it goes to and what it is about, never a token
 * or a link with one. The mail itself is written when it is sent, from the rows as they are then.
 */
export type EmailRequest =
  | { kind: 'password-reset'; userId: string }
  | {
      kind: 'content';
      event: ContentEmailEvent;
      userId: string;
      /** From the event: the content, and the failure or the publication it tells of. */
      about: { contentId: string; error: string | null; platform: string | null; url: string | null };
    }
  | { kind: 'webhook-disabled'; userId: string; endpointId: string };

const PROVIDER_NAMES: Readonly<Record<string, string>> = { google: 'Google', kakao: 'Kakao' };
const PLATFORM_NAMES: Readonly<Record<string, string>> = { youtube: 'YouTube', tiktok: 'TikTok', instagram: 'Instagram' };

/** The activity of the mail workflow. */
export function createEmailActivities(ctx: AppContext) {
  const settingsUrl = () => appLink(ctx, '/settings/notifications');

  /** A password-reset link, or, for an account without a password, where to sign in instead. */
  async function resetMail(user: User): Promise<RenderedMail> {
    const locale = mailLocale(user.locale);
    if (user.password_hash === null) {
      const provider = (user.oauth_provider && PROVIDER_NAMES[user.oauth_provider]) ?? 'Google / Kakao';
      return passwordResetUseProviderMail({ name: user.name, provider, signInUrl: appLink(ctx, '/sign-in') }, locale);
    }
    const ttlSec = ctx.config.email.resetTokenTtlSec;
    const payload: PasswordResetPayload = { userId: user.id, stamp: passwordStamp(user.password_hash) };
    const { token } = await ctx.db.oneTimeTokens.issue('password-reset', payload, ttlSec);
    return passwordResetMail({ name: user.name, link: appLink(ctx, `/reset-password#token=${token}`), ttlSec }, locale);
  }

  async function contentMail(user: User, request: Extract<EmailRequest, { kind: 'content' }>): Promise<RenderedMail | string> {
    if (!receivesNotification(user, request.event)) return `${request.event} mails are off for this user`;
    const { about } = request;
    let content;
    try {
      content = await ctx.db.contents.withProject(about.contentId);
    } catch (err) {
      if (err instanceof ContentNotFoundError) return 'the content is gone';
      throw err;
    }
    const locale = mailLocale(user.locale);
    const input = { name: user.name, title: content.title, projectName: content.project.name, contentUrl: appLink(ctx, `/contents/${content.id}`), settingsUrl: settingsUrl() };
    if (request.event === 'content.ready') return contentReadyMail(input, locale);
    if (request.event === 'content.failed') return contentFailedMail({ ...input, error: about.error }, locale);
    return contentPublishedMail({ ...input, platform: (about.platform && PLATFORM_NAMES[about.platform]) ?? about.platform ?? '?', url: about.url }, locale);
  }

  async function endpointMail(user: User, endpointId: string): Promise<RenderedMail | string> {
    if (!receivesNotification(user, 'webhook.disabled')) return 'webhook.disabled mails are off for this user';
    const endpoint = await ctx.db.webhooks.get(endpointId);
    if (!endpoint) return 'the endpoint is gone';
    // Only the endpoint's origin: a receiver's path often carries its own secret.
    const origin = new URL(endpoint.url).origin;
    return webhookDisabledMail(
      {
        name: user.name,
        endpoint: endpoint.description ? `${endpoint.description} (${origin})` : origin,
        reason: endpoint.disabled_reason ?? '',
        endpointUrl: appLink(ctx, `/webhooks/${endpoint.id}`),
        settingsUrl: settingsUrl(),
      },
      mailLocale(user.locale),
    );
  }

  return {
    /**
     * Writes the mail for the user as they are now (language, address, switches) and sends it.
     * Nothing is sent, and the workflow ends, when the account is gone or inactive, the mail was
     * switched off since, or what it tells of is gone. An SMTP failure a retry may fix (no
     * connection, a 4xx) is thrown for the retry policy; a permanent refusal fails at once.
     */
    async sendEmail(request: EmailRequest): Promise<{ sent: boolean }> {
      const context = { kind: request.kind, userId: request.userId, ...(request.kind === 'content' ? { event: request.event } : {}) };
      const skipped = (reason: string) => {
        log.info({ ...context, reason }, 'email not sent: nothing to send');
        return { sent: false };
      };
      const user = await ctx.models.User.findByPk(request.userId);
      if (!user || user.status !== 'active' || user.deleted_at !== null) return skipped('the account is gone or not active');
      const mail =
        request.kind === 'password-reset' ? await resetMail(user) : request.kind === 'content' ? await contentMail(user, request) : await endpointMail(user, request.endpointId);
      if (typeof mail === 'string') return skipped(mail);
      try {
        await sendMail(ctx, { to: user.email, ...mail }, context);
      } catch (err) {
        // No SMTP_URL (a PermanentProviderError) fails for good; the SMTP server's refusals by their code.
        throw toActivityFailure(err);
      }
      return { sent: true };
    },
  };
}

export type EmailActivities = ReturnType<typeof createEmailActivities>;
