import { lookup as dnsLookup } from 'node:dns/promises';
import http from 'node:http';
import https from 'node:https';
import { BlockList, isIP, type LookupFunction } from 'node:net';

/**
 * Where a webhook may go, and the one POST that takes it there. Against server-side request
 * forgery: in production a target must be https and every address its name resolves to public (no
 * private, loopback, link-local, shared, documentation or multicast range); the name is resolved
 * once, checked, and the connection made to that address (its certificate still checked against
 * the name), so a second DNS answer cannot move it inward. Redirects are not followed.
 */

export class WebhookTargetError extends Error {
  override readonly name = 'WebhookTargetError';
}

export interface TargetPolicy {
  /** Loopback and private addresses allowed (the local stack, so a developer receives events). */
  allowPrivate: boolean;
  /** Only https URLs. */
  requireHttps: boolean;
}

/** The ranges no production webhook goes to (IANA special-purpose registries, both families). */
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24],
  ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 127], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32], ['2002::', 16],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');

/** Whether an IP address is a public unicast one; an IPv4-mapped IPv6 address is judged by its IPv4 address. */
export function isPublicAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return !NOT_PUBLIC.check(address, 'ipv4');
  if (family !== 6) return false;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return isPublicAddress(mapped[1]!);
  const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (mappedHex) {
    const [high, low] = [parseInt(mappedHex[1]!, 16), parseInt(mappedHex[2]!, 16)];
    return isPublicAddress([high >> 8, high & 255, low >> 8, low & 255].join('.'));
  }
  return !NOT_PUBLIC.check(address, 'ipv6');
}

/** The URL, if a webhook may be sent to it under `policy`; a WebhookTargetError naming the problem otherwise. */
export function checkTargetUrl(raw: string, policy: TargetPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new WebhookTargetError('is not a URL');
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && !policy.requireHttps)) throw new WebhookTargetError(policy.requireHttps ? 'must be an https URL' : 'must be an http or https URL');
  if (url.username || url.password) throw new WebhookTargetError('must not carry a user name or password');
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (!policy.allowPrivate && (host === 'localhost' || host.endsWith('.localhost') || (isIP(host) !== 0 && !isPublicAddress(host)))) {
    throw new WebhookTargetError('must be a public address, not a private, loopback or link-local one');
  }
  return url;
}

export interface ResolvedTarget {
  url: URL;
  address: string;
  family: 4 | 6;
}

type Lookup = (hostname: string) => Promise<{ address: string; family: number }[]>;

const systemLookup: Lookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/**
 * The URL's address, resolved once: with `allowPrivate` off, every address the name has must be
 * public (a name that also answers a private address is refused, whichever one a client would pick).
 */
export async function resolveTarget(raw: string, policy: TargetPolicy, lookup: Lookup = systemLookup): Promise<ResolvedTarget> {
  const url = checkTargetUrl(raw, policy);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: { address: string; family: number }[];
  if (isIP(host) !== 0) addresses = [{ address: host, family: isIP(host) }];
  else {
    try {
      addresses = await lookup(host);
    } catch (err) {
      throw new WebhookTargetError(`${host} does not resolve (${err instanceof Error && 'code' in err ? String(err.code) : 'no address'})`);
    }
  }
  if (addresses.length === 0) throw new WebhookTargetError(`${host} does not resolve`);
  if (!policy.allowPrivate) {
    const inward = addresses.find((entry) => !isPublicAddress(entry.address));
    if (inward) throw new WebhookTargetError(`${host} resolves to ${inward.address}, not a public address`);
  }
  const chosen = addresses[0]!;
  return { url, address: chosen.address, family: chosen.family === 6 ? 6 : 4 };
}

export interface WebhookResponse {
  status: number;
  /** The start of the receiver's answer, for the delivery log. */
  body: string;
  durationMs: number;
}

const RESPONSE_EXCERPT_BYTES = 2048;

/**
 * POSTs `body` to the resolved target, connecting to its pinned address. Answers the receiver's
 * status and the start of its body; fails on a network error or when the whole exchange takes
 * longer than `timeoutMs`.
 */
export function postToTarget(target: ResolvedTarget, headers: Readonly<Record<string, string>>, body: string, options: { timeoutMs: number; signal?: AbortSignal }): Promise<WebhookResponse> {
  const started = Date.now();
  const pinned: LookupFunction = (_hostname, lookupOptions, callback) => {
    if (lookupOptions.all) callback(null, [{ address: target.address, family: target.family }]);
    else callback(null, target.address, target.family);
  };
  const client = target.url.protocol === 'https:' ? https : http;
  return new Promise<WebhookResponse>((resolve, reject) => {
    const request = client.request(target.url, {
      method: 'POST',
      headers: { ...headers, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'user-agent': 'AutoClip-Webhooks/1' },
      lookup: pinned,
      signal: options.signal,
    });
    const timer = setTimeout(() => request.destroy(new WebhookTargetError(`no answer within ${options.timeoutMs} ms`)), options.timeoutMs);
    request.on('response', (response) => {
      const chunks: Buffer[] = [];
      let size = 0;
      response.on('data', (chunk: Buffer) => {
        if (size < RESPONSE_EXCERPT_BYTES) chunks.push(chunk);
        size += chunk.length;
      });
      response.on('end', () => {
        clearTimeout(timer);
        resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).subarray(0, RESPONSE_EXCERPT_BYTES).toString('utf8'), durationMs: Date.now() - started });
      });
      response.on('error', (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
    request.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    request.end(body);
  });
}
