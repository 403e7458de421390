import { randomUUID } from 'node:crypto';
import type { ErrorRequestHandler, NextFunction, Request, RequestHandler, Response } from 'express';
import type { AppConfig } from '../lib/config';
import { moduleLogger } from '../lib/logger';
import { verifyAccessToken } from './auth/tokens';
import { looksLikeApiKey, verifyApiKey, type ApiKeyStore } from './auth/api-keys';
import { HttpError } from './errors';
import { runWithApiKeyScope } from './tenancy';
import type { RateCounters } from '../db/rate-limits';
import type { Role } from '../db/models';

declare module 'express-serve-static-core' {
  interface Request {
    /**
     * Set by `authenticate` on routes that need a user. With an API key, `userId` is the user the
     * key acts as (a personal key's user, an organization key's creator) and `apiKey` says which key,
     * its role cap and, for an organization's key, the one organization it may act on (api/tenancy.ts).
     */
    auth?: { userId: string; apiKey?: { id: string; role: Role; organizationId: string | null } };
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

/** The 429 of a counter over its limit, with Retry-After (seconds to the next window) set on the response. */
function rateLimited(counters: RateCounters, res: Response, limitPerMinute: number, window: number, now: number): HttpError {
  const retryAfter = Math.max(1, Math.ceil(counters.untilNext(window, now) / 1000));
  res.setHeader('Retry-After', String(retryAfter));
  return new HttpError(429, 'rate_limited', `too many requests: at most ${limitPerMinute} a minute`);
}

/**
 * A fixed one-minute window per key, counted in Redis so the limit holds across API processes.
 * Over the limit: 429 with Retry-After (seconds to the next window).
 */
export function rateLimit(counters: RateCounters, name: string, limitPerMinute: number, keyOf: (req: Request) => string | undefined): RequestHandler {
  return (req, res, next) => {
    const key = keyOf(req);
    if (!key) return next();
    const now = Date.now();
    const window = counters.windowOf(now);
    counters.hit(`${name}:${key}`, window).then((count) => {
      if (count > limitPerMinute) return next(rateLimited(counters, res, limitPerMinute, window, now));
      next();
    }, next);
  };
}

export interface RequestRateLimits {
  /** Global, first of the limits: counts the client address (or leaves the count to `user`, see below). */
  ip: RequestHandler;
  /** After `authenticate` on user routes: counts the user (and the address, when its count was left here). */
  user: RequestHandler;
  /** First of a public route's handlers: counts the address if its count was left for a user route. */
  ipBeforePublic: RequestHandler;
  /** Error handler before the last: counts the address if its count was left for a user route and the request failed first. */
  ipOnError: ErrorRequestHandler;
}

/**
 * The per-address and per-user limits, counted as `rateLimit` counts (keys `rl:ip:<address>:<window>`
 * and `rl:user:<id>:<window>`), in one Redis round trip for a request to a user route: a request
 * that carries a bearer token and no body (a read) has its address counted together with its
 * user, once `authenticate` has accepted the token. Until then nothing about the request has been
 * read but its headers, so what a refused request sees is unchanged: wherever it ends first (401,
 * 404, a public route, an error), its address is counted there, and a 429 for the address wins as
 * before. A request with a body is counted at once, so an address over its limit gets no body parsed.
 */
export function requestRateLimits(counters: RateCounters, perIp: number, perUser: number): RequestRateLimits {
  /** Requests whose address is not counted yet: its count waits for the user's. */
  const pending = new WeakSet<Request>();

  const countIp = (req: Request, res: Response, next: NextFunction) => {
    pending.delete(req);
    const ip = req.ip;
    if (!ip) return next();
    const now = Date.now();
    const window = counters.windowOf(now);
    counters.hit(`ip:${ip}`, window).then((count) => {
      if (count > perIp) return next(rateLimited(counters, res, perIp, window, now));
      next();
    }, next);
  };
  // A request made with an API key counts under the key (`key:<id>`), not under its user.
  const subjectOf = (req: Request): string | undefined => (req.auth?.apiKey ? `key:${req.auth.apiKey.id}` : req.auth ? `user:${req.auth.userId}` : undefined);
  const countUser: RequestHandler = (req, res, next) => {
    const subject = subjectOf(req);
    if (!subject) return next();
    const now = Date.now();
    const window = counters.windowOf(now);
    counters.hit(subject, window).then((count) => {
      if (count > perUser) return next(rateLimited(counters, res, perUser, window, now));
      next();
    }, next);
  };

  return {
    ip: (req, res, next) => {
      const header = req.headers.authorization;
      const bodiless = req.headers['content-length'] === undefined && req.headers['transfer-encoding'] === undefined;
      if (bodiless && req.method !== 'OPTIONS' && header?.startsWith('Bearer ')) {
        pending.add(req);
        return next();
      }
      countIp(req, res, next);
    },
    user: (req, res, next) => {
      const subject = subjectOf(req);
      const ip = req.ip;
      if (!pending.has(req)) return countUser(req, res, next);
      if (!subject || !ip) return countIp(req, res, (err?: unknown) => (err ? next(err) : countUser(req, res, next)));
      pending.delete(req);
      const now = Date.now();
      const window = counters.windowOf(now);
      counters.hitPair(`ip:${ip}`, subject, window, perIp).then(([ipCount, userCount]) => {
        if (ipCount > perIp) return next(rateLimited(counters, res, perIp, window, now));
        if (userCount > perUser) return next(rateLimited(counters, res, perUser, window, now));
        next();
      }, next);
    },
    ipBeforePublic: (req, res, next) => (pending.has(req) ? countIp(req, res, next) : next()),
    ipOnError: (err: unknown, req, res, next) => (pending.has(req) ? countIp(req, res, (limitErr?: unknown) => next(limitErr ?? err)) : next(err)),
  };
}

const UNAUTHENTICATED = 'a valid access token or API key is required';

/**
 * Accepts `Authorization: Bearer <access token>` (a JWT, checked without I/O) or
 * `Bearer ak_<prefix>_<secret>` (an API key, read from api_keys on every request, so a revoked
 * or expired key is refused at once). The rest of a key's request runs in its scope (api/tenancy.ts).
 */
export function authenticate(config: AppConfig['auth'], apiKeys: ApiKeyStore): RequestHandler {
  return (req, _res, next) => {
    const header = req.header('authorization');
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    if (token && looksLikeApiKey(token)) {
      verifyApiKey(apiKeys, token).then((key) => {
        if (!key) return next(new HttpError(401, 'unauthenticated', UNAUTHENTICATED));
        req.auth = { userId: key.user_id ?? key.created_by, apiKey: { id: key.id, role: key.role, organizationId: key.organization_id } };
        runWithApiKeyScope({ keyId: key.id, role: key.role, organizationId: key.organization_id }, () => next());
      }, next);
      return;
    }
    const claims = token ? verifyAccessToken(token, config.tokenSecret) : undefined;
    if (!claims) return next(new HttpError(401, 'unauthenticated', UNAUTHENTICATED));
    req.auth = { userId: claims.sub };
    next();
  };
}
