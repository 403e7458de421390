import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ProviderError } from '../../../providers/errors';
import { contentFailedMail, mailLocale, verifyEmailMail } from '../../../providers/email/messages';
import { SmtpMailer } from '../../../providers/email/smtp';
import { waitForMails } from '../../support/mailpit';

/**
 * An SMTP server that greets and accepts everything but the recipient, which it refuses with
 * `rcptReply`: a 5xx is a refusal for good, a 4xx one a later attempt may get past.
 */
async function refusingServer(rcptReply: string): Promise<Server> {
  const server = createServer((socket) => {
    socket.write('220 refusing.test ESMTP\r\n');
    let buffered = '';
    socket.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let end: number;
      while ((end = buffered.indexOf('\r\n')) >= 0) {
        const line = buffered.slice(0, end).toUpperCase();
        buffered = buffered.slice(end + 2);
        if (line.startsWith('EHLO') || line.startsWith('HELO')) socket.write('250 refusing.test\r\n');
        else if (line.startsWith('MAIL')) socket.write('250 2.1.0 ok\r\n');
        else if (line.startsWith('RCPT')) socket.write(`${rcptReply}\r\n`);
        else if (line.startsWith('QUIT')) socket.end('221 bye\r\n');
        else socket.write('250 ok\r\n');
      }
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return server;
}

const urlOf = (server: Server) => `smtp://127.0.0.1:${(server.address() as AddressInfo).port}`;

describe('SMTP mailer and mails', () => {
  const servers: Server[] = [];
  before(async () => {
    servers.push(await refusingServer('550 5.1.1 no such mailbox'), await refusingServer('451 4.3.0 try again later'));
  });
  after(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
  });

  it('sends a mail through the test stack’s SMTP server, text and HTML, from MAIL_FROM', async () => {
    const to = `mailer-${randomBytes(5).toString('hex')}@example.com`;
    const mailer = new SmtpMailer({ smtpUrl: process.env.SMTP_URL!, from: 'AutoClip <no-reply@autoclip.test>', timeoutMs: 5000 });
    const rendered = verifyEmailMail({ name: '민아', link: 'https://app.test/verify-email#token=abc', ttlSec: 86_400 }, 'ko');
    const { messageId } = await mailer.send({ to, ...rendered });
    assert.ok(messageId);
    const [mail] = await waitForMails(to);
    assert.equal(mail!.subject, 'AutoClip 이메일 주소를 확인해 주세요');
    assert.equal(mail!.from, 'no-reply@autoclip.test');
    assert.match(mail!.text, /민아님, 안녕하세요\.[\s\S]*24시간[\s\S]*https:\/\/app\.test\/verify-email#token=abc/);
    assert.match(mail!.html, /<a href="https:\/\/app\.test\/verify-email#token=abc"/);
    assert.doesNotMatch(mailer.server, /@/, 'the server as logged carries no credentials');
  });

  it('fails retryably when the server is down or answers 4xx, and for good on a 5xx, naming no credentials', async () => {
    const probe = createServer().listen(0, '127.0.0.1');
    await new Promise((resolve) => probe.once('listening', resolve));
    const closed = `smtp://user:hunter2-secret@127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((resolve) => probe.close(resolve));
    const attempts: [string, boolean, RegExp][] = [
      [closed, true, /failed \(ESOCKET: ECONNREFUSED\)/],
      [urlOf(servers[1]!), true, /answered 451/],
      [urlOf(servers[0]!), false, /answered 550: 550 5\.1\.1 no such mailbox/],
    ];
    for (const [smtpUrl, retryable, message] of attempts) {
      const mailer = new SmtpMailer({ smtpUrl, from: 'no-reply@autoclip.test', timeoutMs: 3000 });
      const err = await mailer.send({ to: 'someone@example.com', subject: 's', text: 't', html: '<p>t</p>' }).then(
        () => assert.fail('the send should fail'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ProviderError, String(err));
      assert.equal(err.provider, 'smtp');
      assert.equal(err.retryable, retryable, `${err.message}: retryable ${retryable}`);
      assert.match(err.message, message);
      assert.doesNotMatch(err.message, /hunter2/);
    }
  });

  it('writes Korean or English, escapes what it puts into HTML, and keeps a subject on one line', () => {
    assert.deepEqual([mailLocale('ko'), mailLocale('ko-KR'), mailLocale('en'), mailLocale('ja'), mailLocale(null)], ['ko', 'ko', 'en', 'en', 'en']);
    const mail = contentFailedMail(
      { name: 'Ann <b>', title: 'A\ntitle <script>alert(1)</script>', projectName: 'P & Q', contentUrl: 'https://app.test/contents/1?a=1&b=2', settingsUrl: 'https://app.test/settings/notifications', error: 'no "credits"' },
      'en',
    );
    assert.equal(mail.subject, 'Your video could not be made: A title <script>alert(1)</script>');
    assert.doesNotMatch(mail.html, /<script>|<b>/);
    assert.match(mail.html, /title &lt;script&gt;alert\(1\)&lt;\/script&gt;/);
    assert.match(mail.html, /P &amp; Q/);
    assert.match(mail.html, /href="https:\/\/app\.test\/contents\/1\?a=1&amp;b=2"/);
    assert.match(mail.text, /Reason: no "credits"/);
    assert.match(mail.text, /https:\/\/app\.test\/contents\/1\?a=1&b=2/);
  });
});
