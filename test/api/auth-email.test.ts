import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { WorkflowNotFoundError } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { emitWebhookEvent } from '../../control/webhooks';
import { produceContentWorkflowId } from '../../workflows/produce-content';
import { startWorkers, type RunningWorkers } from '../../worker';
import { createApiHarness, type ApiHarness } from '../support/api';
import { linkToken, mailsTo, waitForMails, type Mail } from '../support/mailpit';
import { createPeople, type People } from '../support/tenants';
import { waitFor } from '../support/wait';

/**
 * Mail end to end against the test stack's Mailpit (read through its HTTP API, by recipient):
 * the verification mail of a new account and its single-use link; a password reset that changes
 * the password and signs the user out everywhere, its link working once and not after it expired;
 * a content.failed of a real production mailed to the member who wants it and not to the one who
 * turned it off; a disabled webhook endpoint mailed to the organization's owner; SMTP outages
 * answered 503 by the API and retried by the mail workflow until the server is back.
 */
describe('account and notification email', () => {
  let api: ApiHarness;
  let workers: RunningWorkers;
  let people: People;
  let appUrl: string;
  /** The mail workflow that outlasted an SMTP outage: its history is saved for the replay test with RECORD_HISTORIES=1. */
  let outageWorkflowId: string | undefined;

  const address = (label: string) => `${label}-${randomBytes(5).toString('hex')}@example.com`;
  const register = async (email: string, locale: 'ko' | 'en' = 'en') => {
    const password = `pw-${randomBytes(8).toString('hex')}`;
    api.secrets.add(password);
    const res = await api.request('POST', '/auth/register', { body: { email, password, name: 'Mina', locale } });
    assert.equal(res.status, 201, res.text);
    return { password, body: res.body as { user: { id: string }; access_token: string; refresh_token: string; verification_email_sent: boolean } };
  };
  const login = (email: string, password: string) => api.request('POST', '/auth/login', { body: { email, password } });
  /** A loopback port nothing listens on: an SMTP server that is down. */
  const closedPort = async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => probe.once('listening', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise((resolve) => probe.close(resolve));
    return port;
  };
  /** Runs `body` with the SMTP URL the API and the workers (one context) send through replaced. */
  const withSmtpUrl = async <T>(smtpUrl: string | undefined, body: () => Promise<T>): Promise<T> => {
    const saved = api.ctx.config.email.smtpUrl;
    api.ctx.config.email.smtpUrl = smtpUrl;
    try {
      return await body();
    } finally {
      api.ctx.config.email.smtpUrl = saved;
    }
  };

  /** Saves a run's history as the Temporal CLI exports it (test/workflows/replay.test.ts replays it). */
  async function recordHistory(workflowId: string, name: string): Promise<void> {
    const { stdout } = await promisify(execFile)(
      process.env.TEMPORAL_CLI_PATH!,
      ['workflow', 'show', '--address', api.ctx.config.temporal.address, '--workflow-id', workflowId, '--output', 'json'],
      { maxBuffer: 16 * 1024 * 1024 },
    );
    await writeFile(resolve(__dirname, '..', 'workflows', 'histories', `${name}.json`), stdout);
  }

  before(async () => {
    assert.ok(process.env.SMTP_URL && process.env.MAILPIT_URL, 'the test stack gives SMTP_URL and MAILPIT_URL');
    api = await createApiHarness({
      TEMPORAL_MEDIA_TASK_QUEUE: `email-media-${randomBytes(3).toString('hex')}`,
      APP_PUBLIC_URL: 'https://app.autoclip.test/',
      MAIL_FROM: 'AutoClip Tests <no-reply@autoclip.test>',
      EMAIL_RETRY_INITIAL_MS: '200',
      EMAIL_RETRY_MAX_MS: '400',
      WEBHOOK_RETRY_INITIAL_MS: '100',
      WEBHOOK_RETRY_MAX_MS: '200',
      WEBHOOK_GIVE_UP_AFTER_MS: '2000',
    });
    appUrl = api.ctx.config.email.appUrl;
    people = await createPeople(api, { plan: 'pro' });
    Runtime.install({ logger: new DefaultLogger('WARN') });
    workers = await startWorkers(api.ctx, ['orchestration']);
  });
  after(async () => {
    try {
      if (process.env.RECORD_HISTORIES === '1' && outageWorkflowId) await recordHistory(outageWorkflowId, 'email-after-smtp-outage');
      await workers?.shutdown();
      // The 503s of mail that could not be sent are answers under test; any other 5xx still fails here.
      const deliberate = (r: { status: number; text: string }) => r.status === 503 && /"code":"email_(unavailable|not_configured)"/.test(r.text);
      api.responses.splice(0, api.responses.length, ...api.responses.filter((r) => !deliberate(r)));
      api.assertNoLeaks();
    } finally {
      await api.close();
    }
  });

  it('mails a new account a link whose token verifies its address, once', async () => {
    const email = address('verify');
    const { body } = await register(email);
    assert.equal(body.verification_email_sent, true);
    const [mail] = await waitForMails(email);
    assert.equal(mail!.from, 'no-reply@autoclip.test');
    assert.match(mail!.subject, /Confirm your AutoClip email address/);
    const token = linkToken(mail!, 'https://app.autoclip.test', '/verify-email');
    assert.ok(mail!.html.includes(`https://app.autoclip.test/verify-email#token=${token}`), 'the HTML carries the same link');
    api.secrets.add(token);

    const verified = await api.request('POST', '/auth/email/verify', { body: { token } });
    assert.equal(verified.status, 200, verified.text);
    assert.equal(verified.body.user.email_verified, true);
    assert.equal((await api.ctx.models.User.findByPk(body.user.id))!.email_verified, true);

    const again = await api.request('POST', '/auth/email/verify', { body: { token } });
    assert.equal(again.status, 400, again.text);
    assert.equal(again.body.error.code, 'invalid_token');
    assert.ok(again.body.error.details['body.token']);
    const malformed = await api.request('POST', '/auth/email/verify', { body: { token: 'not a token' } });
    assert.equal(malformed.status, 400);
    assert.ok(malformed.body.error.details['body.token']);
    const resend = await api.request('POST', '/auth/email/verification', { token: body.access_token });
    assert.equal(resend.status, 409, resend.text);
  });

  it('writes in the account’s language, sends another link on request, and answers 503 while mail cannot be sent', async () => {
    const email = address('resend');
    const { body } = await register(email, 'ko');
    const [first] = await waitForMails(email);
    assert.match(first!.subject, /이메일 주소를 확인해 주세요/);
    assert.match(first!.text, /Mina님/);

    const resend = await api.request('POST', '/auth/email/verification', { token: body.access_token });
    assert.equal(resend.status, 202, resend.text);
    assert.ok(Date.parse(resend.body.expires_at) > Date.now() + 23 * 3600_000, 'the link works for a day');
    const [, second] = await waitForMails(email, 2);
    const [firstToken, secondToken] = [linkToken(first!, appUrl, '/verify-email'), linkToken(second!, appUrl, '/verify-email')];
    assert.notEqual(firstToken, secondToken);
    api.secrets.add(firstToken).add(secondToken);

    const down = `smtp://127.0.0.1:${await closedPort()}`;
    await withSmtpUrl(down, async () => {
      const refused = await api.request('POST', '/auth/email/verification', { token: body.access_token });
      assert.equal(refused.status, 503, refused.text);
      assert.equal(refused.body.error.code, 'email_unavailable');
      assert.ok(Number(refused.headers.get('retry-after')) > 0);
      const { body: late } = await register(address('late'));
      assert.equal(late.verification_email_sent, false, 'the account is made; the answer says its mail was not sent');
    });
    await withSmtpUrl(undefined, async () => {
      const off = await api.request('POST', '/auth/email/verification', { token: body.access_token });
      assert.equal(off.status, 503);
      assert.equal(off.body.error.code, 'email_not_configured');
      const forgot = await api.request('POST', '/auth/password/forgot', { body: { email } });
      assert.equal(forgot.status, 503);
    });
    assert.equal((await mailsTo(email)).length, 2, 'nothing more was sent');
    assert.equal((await api.request('POST', '/auth/email/verify', { body: { token: secondToken } })).status, 200);
  });

  it('resets a password through the mailed link: the new one works, the old and every earlier refresh token do not, and the link works once', async () => {
    const email = address('reset');
    const { password, body } = await register(email);
    const signedIn = await login(email, password);
    assert.equal(signedIn.status, 200);
    const unknown = address('nobody');

    const asked = await api.request('POST', '/auth/password/forgot', { body: { email: email.toUpperCase() } });
    const askedUnknown = await api.request('POST', '/auth/password/forgot', { body: { email: unknown } });
    assert.equal(asked.status, 202, asked.text);
    assert.deepEqual([askedUnknown.status, askedUnknown.body], [asked.status, asked.body], 'the same answer whether or not the account exists');

    const [mail] = await waitForMails(email, 1, (m) => /Reset your AutoClip password/.test(m.subject));
    const token = linkToken(mail!, appUrl, '/reset-password');
    api.secrets.add(token);
    const newPassword = `new-${randomBytes(8).toString('hex')}`;
    api.secrets.add(newPassword);
    const short = await api.request('POST', '/auth/password/reset', { body: { token, password: 'short' } });
    assert.equal(short.status, 400);
    assert.ok(short.body.error.details['body.password']);
    const reset = await api.request('POST', '/auth/password/reset', { body: { token, password: newPassword } });
    assert.equal(reset.status, 204, reset.text);

    assert.equal((await login(email, password)).status, 401, 'the old password fails');
    const renewed = await login(email, newPassword);
    assert.equal(renewed.status, 200, 'the new one works');
    assert.equal(renewed.body.user.email_verified, true, 'the link reached the address: it is verified');
    for (const refreshToken of [body.refresh_token, signedIn.body.refresh_token]) {
      const refused = await api.request('POST', '/auth/refresh', { body: { refresh_token: refreshToken } });
      assert.equal(refused.status, 401, 'every refresh token issued before the reset is refused');
    }
    const reused = await api.request('POST', '/auth/password/reset', { body: { token, password: `other-${randomBytes(8).toString('hex')}` } });
    assert.equal(reused.status, 400, reused.text);
    assert.equal(reused.body.error.code, 'invalid_token');
    assert.equal((await login(email, newPassword)).status, 200, 'the reused link changed nothing');
    assert.deepEqual(await mailsTo(unknown), [], 'an unknown address gets nothing');
  });

  it('refuses a reset link once it has expired (a short AUTH_PASSWORD_RESET_TTL_SEC)', async () => {
    const email = address('expired');
    const { password } = await register(email);
    const ttl = api.ctx.config.email.resetTokenTtlSec;
    api.ctx.config.email.resetTokenTtlSec = 1;
    let mail: Mail;
    try {
      assert.equal((await api.request('POST', '/auth/password/forgot', { body: { email } })).status, 202);
      [mail] = (await waitForMails(email, 1, (m) => /Reset/.test(m.subject))) as [Mail];
    } finally {
      api.ctx.config.email.resetTokenTtlSec = ttl;
    }
    assert.match(mail.text, /for 1 minute/);
    const token = linkToken(mail, appUrl, '/reset-password');
    api.secrets.add(token);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const expired = await api.request('POST', '/auth/password/reset', { body: { token, password: `late-${randomBytes(8).toString('hex')}` } });
    assert.equal(expired.status, 400, expired.text);
    assert.equal(expired.body.error.code, 'invalid_token');
    assert.equal((await login(email, password)).status, 200, 'the password is unchanged');
  });

  it('tells an account without a password to sign in with its provider, with no reset link', async () => {
    const email = address('oauth');
    await api.ctx.models.User.create({ email, name: 'Oauth Only', oauth_provider: 'kakao', oauth_id: randomUUID(), locale: 'en' } as never);
    assert.equal((await api.request('POST', '/auth/password/forgot', { body: { email } })).status, 202);
    const [mail] = await waitForMails(email);
    assert.match(mail!.subject, /How you sign in/);
    assert.match(mail!.text, /signs in with Kakao/);
    assert.doesNotMatch(mail!.text, /token=/);
  });

  it('keeps queued mail while the SMTP server is down and sends it once the server is back', async () => {
    const email = address('outage');
    await register(email);
    await waitForMails(email);
    const user = await api.ctx.models.User.findOne({ where: { email } });
    const down = `smtp://127.0.0.1:${await closedPort()}`;
    await withSmtpUrl(down, async () => {
      const minute = Math.floor(Date.now() / 60_000);
      assert.equal((await api.request('POST', '/auth/password/forgot', { body: { email } })).status, 202);
      const retried = await waitFor('a failed and retried attempt', async () => {
        for (const m of [minute, minute + 1]) {
          try {
            const handle = api.ctx.temporal.workflow.getHandle(`email-password-reset-${user!.id}-${m}`);
            const pending = (await handle.describe()).raw.pendingActivities?.[0];
            if (pending && (pending.attempt ?? 0) >= 2) return { handle, pending };
          } catch (err) {
            if (!(err instanceof WorkflowNotFoundError)) throw err;
          }
        }
        return undefined;
      }, 30_000, 200);
      assert.match(String(retried.pending.lastFailure?.message), /SMTP server .* failed \(ESOCKET: ECONNREFUSED\)/);
      outageWorkflowId = retried.handle.workflowId;
    });
    const [mail] = await waitForMails(email, 1, (m) => /Reset/.test(m.subject), 30_000);
    api.secrets.add(linkToken(mail!, appUrl, '/reset-password'));
    assert.deepEqual(await api.ctx.temporal.workflow.getHandle(outageWorkflowId!).result(), { sent: true });
  });

  it('lets a user read and change which events come by email, refusing bad input by name', async () => {
    const { token } = people.as.viewer;
    const read = await api.request('GET', '/me/notification-settings', { token });
    assert.equal(read.status, 200, read.text);
    assert.deepEqual(read.body, {
      notification_settings: { 'content.ready': true, 'content.failed': true, 'content.published': false, 'webhook.disabled': true },
      email_verified: false,
    });
    const changed = await api.request('PATCH', '/me/notification-settings', { token, body: { 'content.published': true, 'content.ready': false } });
    assert.equal(changed.status, 200, changed.text);
    assert.deepEqual(changed.body.notification_settings, { 'content.ready': false, 'content.failed': true, 'content.published': true, 'webhook.disabled': true });
    assert.deepEqual((await api.request('GET', '/me', { token })).body.user.notification_settings, changed.body.notification_settings);
    const bad = await api.request('PATCH', '/me/notification-settings', { token, body: { 'content.failed': 'no', 'content.exploded': true } });
    assert.equal(bad.status, 400, bad.text);
    assert.deepEqual(Object.keys(bad.body.error.details).sort(), ['body.content.exploded', 'body.content.failed']);
    assert.equal((await api.request('PATCH', '/me/notification-settings', { token, body: {} })).status, 400);
    assert.equal((await api.request('PATCH', '/me/notification-settings', { body: { 'content.ready': true } })).status, 401);
    const restored = await api.request('PATCH', '/me/notification-settings', { token, body: { 'content.published': false, 'content.ready': true } });
    assert.deepEqual(restored.body.notification_settings, read.body.notification_settings);
  });

  it('mails a content.failed of a real production to the members who want it, and not to one who turned it off', async () => {
    const { User, Subscription, Project } = api.ctx.models;
    const { owner, admin, editor, viewer } = people.as;
    // The owner keeps an unverified address: nothing goes to it. The viewer only watches.
    await User.update({ email_verified: true, locale: 'en' }, { where: { id: [admin.userId, editor.userId, viewer.userId] } });
    const off = await api.request('PATCH', '/me/notification-settings', { token: admin.token, body: { 'content.failed': false } });
    assert.equal(off.status, 200, off.text);
    await Subscription.update({ credits_remaining: 0 }, { where: { organization_id: people.orgId } });
    const project = await Project.create({ organization_id: people.orgId, name: 'Mailed', vertical: 'tech', language: 'en' } as never);
    const title = `Nobody pays for this ${randomBytes(3).toString('hex')}`;
    const made = await api.request('POST', `/projects/${project.id}/contents`, { token: editor.token, body: { topic: title } });
    assert.equal(made.status, 201, made.text);
    const contentId: string = made.body.content.id;
    assert.equal((await api.request('POST', `/contents/${contentId}/generate`, { token: editor.token })).status, 202);
    const production = api.ctx.temporal.workflow.getHandle(produceContentWorkflowId(contentId));
    await waitFor('the production to end', async () => (await production.describe()).status.name !== 'RUNNING', 120_000, 300);

    const [mail] = await waitForMails(editor.email, 1, (m) => m.subject.includes(title));
    assert.equal(mail!.subject, `Your video could not be made: ${title}`);
    assert.ok(mail!.text.includes(`${appUrl}/contents/${contentId}`), mail!.text);
    assert.match(mail!.text, /Reason: .*credit/i);
    assert.match(mail!.text, /Project: Mailed/);
    assert.ok(mail!.html.includes(`href="${appUrl}/contents/${contentId}"`));
    // Every mail of the event was queued before the production ended; give a stray one time to land.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const quiet of [admin, owner, viewer]) assert.deepEqual((await mailsTo(quiet.email)).filter((m) => m.subject.includes(title)), [], `${quiet.email} gets nothing`);
    assert.equal((await mailsTo(editor.email)).filter((m) => m.subject.includes(title)).length, 1, 'one mail, once');
    // Visibility is eventually consistent: the mail's workflow is listed by its content a moment after it starts.
    const mailRun = await waitFor("the mail's workflow, found by its content", async () => {
      for await (const run of api.ctx.temporal.workflow.list({ query: `ContentId = "${contentId}" AND WorkflowType = "deliverEmail"` })) return run;
      return undefined;
    }, 10_000, 200);
    assert.deepEqual(await mailRun.memo, { email: 'content', event: 'content.failed' });
  });

  it("mails the organization's owner when its webhook endpoint is disabled after its deliveries kept failing", async () => {
    const { owner, admin } = people.as;
    await api.ctx.models.User.update({ email_verified: true, locale: 'ko' }, { where: { id: owner.userId } });
    const receiver: Server = createServer((req, res) => req.resume().on('end', () => res.writeHead(500).end('down')));
    receiver.listen(0, '127.0.0.1');
    await new Promise((resolve) => receiver.once('listening', resolve));
    try {
      const origin = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
      const made = await api.request('POST', '/webhooks', {
        token: admin.token,
        body: { organization_id: people.orgId, url: `${origin}/hooks/secret-path-token`, event_types: ['upload.failed'], description: 'n8n flow' },
      });
      assert.equal(made.status, 201, made.text);
      const endpointId: string = made.body.webhook.id;
      await emitWebhookEvent(api.ctx, { id: `upload.failed:${randomUUID()}`, type: 'upload.failed', owner: { organizationId: people.orgId }, data: { upload_id: 'u-1' } });
      const [mail] = await waitForMails(owner.email, 1, (m) => m.subject.includes('웹훅'));
      assert.match(mail!.subject, /웹훅 엔드포인트가 비활성화되었습니다: n8n flow/);
      assert.ok(mail!.text.includes(`${appUrl}/webhooks/${endpointId}`));
      assert.match(mail!.text, /answered 500/);
      assert.ok(!mail!.text.includes('secret-path-token') && !mail!.html.includes('secret-path-token'), "the receiver's path is not mailed");
      assert.deepEqual((await mailsTo(admin.email)).filter((m) => m.subject.includes('webhook')), [], 'an admin is not the owner');
    } finally {
      receiver.closeAllConnections();
      await new Promise((resolve) => receiver.close(resolve));
    }
  });
});
