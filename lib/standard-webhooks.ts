import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/**
 * Webhook signatures as the Standard Webhooks specification gives them (standardwebhooks.com): a
 * secret `whsec_<base64 key>`, and on every message the headers `webhook-id`, `webhook-timestamp`
 * (Unix seconds) and `webhook-signature`, a space-separated list of `v1,<base64 HMAC-SHA256 of
 * "<id>.<timestamp>.<body>">`. Receivers verify with any Standard Webhooks library, or `verifyWebhook`.
 */

const SECRET_PREFIX = 'whsec_';
const KEY_BYTES = 24;
/** How far a message's timestamp may be from the receiver's clock (the specification's five minutes). */
const DEFAULT_TOLERANCE_SEC = 5 * 60;

export type WebhookHeaders = Record<'webhook-id' | 'webhook-timestamp' | 'webhook-signature', string>;

/** A new endpoint secret: 24 random bytes, base64, after `whsec_`. */
export function newWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(KEY_BYTES).toString('base64')}`;
}

function keyOf(secret: string): Buffer {
  const key = Buffer.from(secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret, 'base64');
  if (key.length === 0) throw new Error('the webhook secret holds no key');
  return key;
}

function signature(key: Buffer, id: string, timestampSec: number, body: string): Buffer {
  return createHmac('sha256', key).update(`${id}.${timestampSec}.${body}`).digest();
}

/** The headers of one message: its id, the time it is sent, and its signature with `secret`. */
export function signWebhook(secret: string, id: string, timestampSec: number, body: string): WebhookHeaders {
  return {
    'webhook-id': id,
    'webhook-timestamp': String(timestampSec),
    'webhook-signature': `v1,${signature(keyOf(secret), id, timestampSec, body).toString('base64')}`,
  };
}

/**
 * Whether a received message is signed with `secret` and sent within the tolerance of `nowSec`.
 * Headers are looked up case-insensitively; any `v1` signature of the list may match.
 */
export function verifyWebhook(secret: string, headers: Readonly<Record<string, string | string[] | undefined>>, body: string, nowSec = Math.floor(Date.now() / 1000), toleranceSec = DEFAULT_TOLERANCE_SEC): boolean {
  const header = (name: keyof WebhookHeaders): string | undefined => {
    const entry = Object.entries(headers).find(([key]) => key.toLowerCase() === name)?.[1];
    return Array.isArray(entry) ? entry[0] : entry;
  };
  const id = header('webhook-id');
  const timestamp = header('webhook-timestamp');
  const signatures = header('webhook-signature');
  if (!id || !timestamp || !signatures || !/^\d+$/.test(timestamp)) return false;
  const timestampSec = Number(timestamp);
  if (Math.abs(nowSec - timestampSec) > toleranceSec) return false;
  const expected = signature(keyOf(secret), id, timestampSec, body);
  return signatures.split(' ').some((entry) => {
    const [version, value] = entry.split(',', 2);
    if (version !== 'v1' || !value) return false;
    const given = Buffer.from(value, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
