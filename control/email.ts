import { createHash } from 'node:crypto';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { TypedSearchAttributes, WorkflowIdReusePolicy } from '@temporalio/common';
import type { EmailRequest } from '../activities/email';
import type { Role, User } from '../db/models';
import { ContentNotFoundError } from '../db/repositories/contents';
import { moduleLogger } from '../lib/logger';
import { mailLocale, verifyEmailMail } from '../providers/email/messages';
import { PermanentProviderError } from '../providers/errors';
import { SmtpMailer, type EmailMessage } from '../providers/email/smtp';
import { deliverEmail } from '../workflows/deliver-email';
import { ContentIdKey, OwnerUserIdKey } from '../workflows/search-attributes';
import type { AppContext } from './app-context';
import { isEmailNotification, wantsEmail, type EmailNotification } from './notification-settings';
import type { WebhookEvent } from './webhooks';

/**
 * The platform's mail. The API sends the email-verification mail itself (the user is waiting for
 * it and may ask again); a password reset and the notifications are queued, each a `deliverEmail`
 * workflow whose activity (activities/email.ts) writes and sends the mail with retries. Every send
 * is logged with its kind, the user's id and a masked address; never a link, a token or the SMTP
 * URL's credentials.
 */

const log = moduleLogger('email');

/** SMTP_URL is not set: this deployment sends no mail. */
export class EmailNotConfiguredError extends PermanentProviderError {
  override readonly name = 'EmailNotConfiguredError';
  constructor() {
    super('email is not configured on this deployment (SMTP_URL is not set)');
  }
}

/** An address as the logs show it: its first character and its domain (`a***@example.com`). */
function maskAddress(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 1 ? '***' : `${address[0]}***${address.slice(at)}`;
}

/** A page of the web app (APP_PUBLIC_URL), e.g. `/contents/<id>`. */
export function appLink(ctx: AppContext, path: string): string {
  return `${ctx.config.email.appUrl}${path}`;
}

/** Sends one mail now through the configured SMTP server and logs it; a failure is logged and thrown (a `ProviderError`). */
export async function sendMail(ctx: AppContext, message: EmailMessage, about: { kind: string; userId: string }): Promise<void> {
  const { smtpUrl, from, timeoutMs } = ctx.config.email;
  if (!smtpUrl) throw new EmailNotConfiguredError();
  const mailer = new SmtpMailer({ smtpUrl, from, timeoutMs });
  const context = { ...about, to: maskAddress(message.to), server: mailer.server };
  try {
    const { messageId } = await mailer.send(message);
    log.info({ ...context, messageId }, 'email sent');
  } catch (err) {
    log.warn({ ...context, error: err instanceof Error ? err.message : String(err) }, 'email not sent');
    throw err;
  }
}

/**
 * Issues an email-verification token (single use, AUTH_EMAIL_VERIFY_TTL_SEC) for the user's
 * current address and mails its link. The link carries the token in its fragment, which browsers
 * never send to a server, so it stays out of the web app's access logs.
 */
export async function sendVerificationEmail(ctx: AppContext, user: Pick<User, 'id' | 'email' | 'name' | 'locale'>): Promise<{ expiresAt: Date }> {
  if (!ctx.config.email.smtpUrl) throw new EmailNotConfiguredError();
  const ttlSec = ctx.config.email.verifyTokenTtlSec;
  const { token, expiresAt } = await ctx.db.oneTimeTokens.issue('email-verify', { userId: user.id, email: user.email }, ttlSec);
  const mail = verifyEmailMail({ name: user.name, link: appLink(ctx, `/verify-email#token=${token}`), ttlSec }, mailLocale(user.locale));
  await sendMail(ctx, { to: user.email, ...mail }, { kind: 'email-verify', userId: user.id });
  return { expiresAt };
}

/** What an email-verification token stands for: the user and the address it was sent to. */
export interface EmailVerifyPayload {
  userId: string;
  email: string;
}

/** What a password-reset token stands for: the user, and a stamp of the password it may replace. */
export interface PasswordResetPayload {
  userId: string;
  stamp: string;
}

/**
 * A stamp of the user's password hash: a reset token names the password it replaces, so once the
 * password has changed every other reset link sent before stops working.
 */
export function passwordStamp(passwordHash: string | null): string {
  return createHash('sha256').update(passwordHash ?? '').digest('base64url').slice(0, 22);
}

/** Starts the workflow of one queued mail; one already started under this id is left as it is. */
async function queueEmail(ctx: AppContext, workflowId: string, request: EmailRequest): Promise<void> {
  const { email, temporal } = ctx.config;
  try {
    await ctx.temporal.workflow.start(deliverEmail, {
      taskQueue: temporal.taskQueue,
      workflowId,
      // A mail that was sent (or given up) is never sent again under the same id.
      workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      args: [{ request, retryInitialMs: email.retryInitialMs, retryMaxMs: email.retryMaxMs, giveUpAfterMs: email.giveUpAfterMs }],
      // The recipient, and the content a content mail is about.
      typedSearchAttributes: new TypedSearchAttributes([
        { key: OwnerUserIdKey, value: request.userId },
        ...(request.kind === 'content' ? [{ key: ContentIdKey, value: request.about.contentId }] : []),
      ]),
      memo: { email: request.kind, ...(request.kind === 'content' ? { event: request.event } : {}) },
    });
  } catch (err) {
    if (!(err instanceof WorkflowExecutionAlreadyStartedError)) throw err;
  }
}

/**
 * Queues a password-reset mail for the user. Its workflow id names the user and the minute, so
 * however often the address is submitted, at most one mail a minute goes to it.
 */
export async function queuePasswordReset(ctx: AppContext, userId: string): Promise<void> {
  if (!ctx.config.email.smtpUrl) throw new EmailNotConfiguredError();
  await queueEmail(ctx, `email-password-reset-${userId}-${Math.floor(Date.now() / 60_000)}`, { kind: 'password-reset', userId });
}

/** Whether a notification goes to this user now: an active account, a verified address, and its switch on. */
export function receivesNotification(user: Pick<User, 'status' | 'deleted_at' | 'email_verified' | 'notification_settings'>, event: EmailNotification): boolean {
  return user.status === 'active' && user.deleted_at === null && user.email_verified && wantsEmail(user.notification_settings, event);
}

/** The members of an organization with one of `roles`, or the user of a personal resource. */
async function peopleOf(ctx: AppContext, owner: { userId: string | null; organizationId: string | null }, roles: readonly Role[]): Promise<User[]> {
  const { User: UserModel, OrganizationMember } = ctx.models;
  if (owner.organizationId) {
    const members = await OrganizationMember.findAll({ where: { organization_id: owner.organizationId, role: [...roles] }, include: [{ model: UserModel, as: 'user' }] });
    return members.flatMap((m) => (m.user ? [m.user] : []));
  }
  const user = owner.userId ? await UserModel.findByPk(owner.userId) : null;
  return user ? [user] : [];
}

/** The roles that work on an organization's contents (make, approve, publish them): viewers only watch, and get no mail. */
const CONTENT_ROLES: readonly Role[] = ['owner', 'admin', 'editor'];

const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);

/**
 * The email side of an event (control/webhooks.ts `emitWebhookEvent` calls it for every event):
 * content.ready, content.failed and content.published go by email to the people of the content's
 * project who asked for them (users.notification_settings) — a personal project's user, or an
 * organization's owners, admins and editors — each mail a workflow named by the event and the
 * user, so an activity that emits the event again sends nothing twice.
 */
export async function emailEvent(ctx: AppContext, event: WebhookEvent): Promise<void> {
  const contentId = text(event.data.content_id);
  if (!ctx.config.email.smtpUrl || !isEmailNotification(event.type) || !contentId) return;
  const type = event.type;
  let owner;
  try {
    owner = await ctx.db.contents.owner(contentId);
  } catch (err) {
    // A content deleted since the event has nobody to tell; retrying the emitting activity would not change that.
    if (err instanceof ContentNotFoundError) return;
    throw err;
  }
  const recipients = (await peopleOf(ctx, owner, CONTENT_ROLES)).filter((user) => receivesNotification(user, type));
  for (const user of recipients) {
    await queueEmail(ctx, `email-${event.id}-${user.id}`, {
      kind: 'content',
      event: type,
      userId: user.id,
      about: { contentId, error: text(event.data.error), platform: text(event.data.platform), url: text(event.data.url) },
    });
  }
}

/**
 * A webhook endpoint was disabled after its deliveries kept failing: its owner hears it by email —
 * a personal endpoint's user, an organization's owners. The mail is named by the endpoint and the
 * time it was disabled, so a retried give-up, or a second delivery given up on the same endpoint,
 * sends nothing twice, while the endpoint disabled again later sends again.
 */
export async function emailEndpointDisabled(ctx: AppContext, endpointId: string): Promise<void> {
  if (!ctx.config.email.smtpUrl) return;
  const endpoint = await ctx.db.webhooks.get(endpointId);
  if (!endpoint || endpoint.status !== 'disabled' || !endpoint.disabled_at) return;
  const owner = { userId: endpoint.user_id, organizationId: endpoint.organization_id };
  const recipients = (await peopleOf(ctx, owner, ['owner'])).filter((user) => receivesNotification(user, 'webhook.disabled'));
  for (const user of recipients) {
    await queueEmail(ctx, `email-webhook.disabled-${endpoint.id}-${new Date(endpoint.disabled_at).getTime()}-${user.id}`, { kind: 'webhook-disabled', userId: user.id, endpointId: endpoint.id });
  }
}
