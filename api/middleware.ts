import { randomUUID } from 'node:crypto';
import type { RequestHandler } from 'express';
import type { Redis } from 'ioredis';
import type { AppConfig } from '../lib/config';
import { moduleLogger } from '../lib/logger';
import { verifyAccessToken } from './auth/tokens';
import { HttpError } from './errors';

declare module 'express-serve-static-core' {
  interface Request {
    /** Set by `authenticate` on routes that need a user. */
    auth?: { userId: string };
    requestId: string;
  }
}

const log = moduleLogger('api');

export const requestId: RequestHandler = (req, res, next) => {
  const incoming = req.header('x-request-id');
  req.requestId = incoming && /^[\w-]{1,64}$/.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', req.requestId);
  next();
};

/** One structured line per request; tokens and passwords never reach it (only method, path, status). */
export const requestLog: RequestHandler = (req, res, next) => {
  const began = process.hrtime.bigint();
  res.on('finish', () => {
    const ms = Number(process.hrtime.bigint() - began) / 1e6;
    log.info({ requestId: req.requestId, method: req.method, path: req.path, status: res.statusCode, ms: Math.round(ms * 10) / 10, userId: req.auth?.userId }, 'request');
  });
  next();
};

export const securityHeaders: RequestHandler = (_req, res, next) => {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
  res.setHeader('Content-Security-Policy', "default-src 'none'; frame-ancestors 'none'");
  res.setHeader('Cache-Control', 'no-store');
  next();
};

export function cors(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins);
  return (req, res, next) => {
    const origin = req.header('origin');
    if (origin && allowed.has(origin)) {
      res.setHeader('Access-Control-Allow-Origin', origin);
      res.setHeader('Vary', 'Origin');
      res.setHeader('Access-Control-Expose-Headers', 'x-request-id, retry-after, idempotent-replayed');
      if (req.method === 'OPTIONS') {
        res.setHeader('Access-Control-Allow-Methods', 'GET, POST, PUT, PATCH, DELETE');
        res.setHeader('Access-Control-Allow-Headers', 'authorization, content-type, idempotency-key, x-request-id');
        res.setHeader('Access-Control-Max-Age', '600');
        res.status(204).end();
        return;
      }
    }
    next();
  };
}

/** INCR and, on the window's first hit, EXPIRE, in one round trip. */
const RATE_HIT_SCRIPT = `local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count`;

type RateLimitRedis = Redis & { rateHit(key: string, ttlSec: number): Promise<number> };

/**
 * A fixed one-minute window per key, counted in Redis so the limit holds across API processes.
 * Over the limit: 429 with Retry-After (seconds to the next window).
 */
export function rateLimit(redis: Redis, name: string, limitPerMinute: number, keyOf: (req: Parameters<RequestHandler>[0]) => string | undefined): RequestHandler {
  if (!('rateHit' in redis)) redis.defineCommand('rateHit', { numberOfKeys: 1, lua: RATE_HIT_SCRIPT });
  const client = redis as RateLimitRedis;
  return (req, res, next) => {
    const key = keyOf(req);
    if (!key) return next();
    const now = Date.now();
    const window = Math.floor(now / 60_000);
    client.rateHit(`rl:${name}:${key}:${window}`, 61).then((count) => {
      if (count > limitPerMinute) {
        const retryAfter = Math.max(1, Math.ceil(((window + 1) * 60_000 - now) / 1000));
        res.setHeader('Retry-After', String(retryAfter));
        return next(new HttpError(429, 'rate_limited', `too many requests: at most ${limitPerMinute} a minute`));
      }
      next();
    }, next);
  };
}

export function authenticate(config: AppConfig['auth']): RequestHandler {
  return (req, _res, next) => {
    const header = req.header('authorization');
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const claims = token ? verifyAccessToken(token, config.tokenSecret) : undefined;
    if (!claims) return next(new HttpError(401, 'unauthenticated', 'a valid access token is required'));
    req.auth = { userId: claims.sub };
    next();
  };
}
