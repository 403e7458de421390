import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../lib/config';
import { minimalEnv, problemsOf } from '../support/env';

const VALID = minimalEnv();

describe('email configuration', () => {
  it('sends no mail without SMTP_URL, and reads the mail settings with their defaults', () => {
    const { email } = loadConfig(VALID);
    assert.deepEqual(email, {
      smtpUrl: undefined,
      from: 'AutoClip <no-reply@autoclip.local>',
      appUrl: 'http://localhost:3000',
      timeoutMs: 10_000,
      verifyTokenTtlSec: 86_400,
      resetTokenTtlSec: 1800,
      retryInitialMs: 30_000,
      retryMaxMs: 30 * 60_000,
      giveUpAfterMs: 24 * 3600_000,
    });
    const set = loadConfig({ ...VALID, SMTP_URL: 'smtps://u:p@smtp.example.com:465', APP_PUBLIC_URL: 'https://app.example.com/', AUTH_PASSWORD_RESET_TTL_SEC: '600' }).email;
    assert.deepEqual([set.smtpUrl, set.appUrl, set.resetTokenTtlSec], ['smtps://u:p@smtp.example.com:465', 'https://app.example.com', 600]);
  });

  it('names a malformed SMTP URL, sender or link base, and a TTL out of range', () => {
    const problems = problemsOf({ ...VALID, SMTP_URL: 'http://smtp.example.com', MAIL_FROM: 'not an address', APP_PUBLIC_URL: 'ftp://app', AUTH_PASSWORD_RESET_TTL_SEC: '0' });
    for (const name of ['SMTP_URL', 'MAIL_FROM', 'APP_PUBLIC_URL', 'AUTH_PASSWORD_RESET_TTL_SEC']) {
      assert.ok(problems.some((p) => p.includes(`"${name}"`)), `${name} named in ${problems.join('; ')}`);
    }
  });

  it('needs the web app’s address and a real sender when production sends mail', () => {
    const production = { ...VALID, NODE_ENV: 'production', SMTP_URL: 'smtp://relay.internal:25' };
    const problems = problemsOf(production);
    assert.ok(problems.some((p) => p.includes('"APP_PUBLIC_URL" is required when "SMTP_URL" is set')), problems.join('; '));
    assert.ok(problems.some((p) => p.includes('"MAIL_FROM" is required when "SMTP_URL" is set')), problems.join('; '));
    assert.equal(loadConfig({ ...production, APP_PUBLIC_URL: 'https://app.example.com', MAIL_FROM: 'AutoClip <no-reply@example.com>' }).email.from, 'AutoClip <no-reply@example.com>');
    assert.equal(loadConfig({ ...VALID, NODE_ENV: 'production' }).email.smtpUrl, undefined, 'production without mail needs neither');
  });
});
