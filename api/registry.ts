import type { NextFunction, Request, RequestHandler, Response, Router } from 'express';
import Joi from 'joi';
import { HttpError } from './errors';

/**
 * Every route is declared once, as data: its method and path, who may call it, the Joi schemas of
 * its params, query and body, and its handler. The same declaration mounts the Express route (with
 * validation) and produces the OpenAPI document, so the docs cannot drift from what is enforced.
 */
export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface Validated<P = Record<string, unknown>, Q = Record<string, unknown>, B = unknown> {
  params: P;
  query: Q;
  body: B;
}

export interface RouteSpec<P = never, Q = never, B = never> {
  method: HttpMethod;
  /** Express-style path, e.g. `/contents/:id`. */
  path: string;
  summary: string;
  tag: string;
  /** `public` routes need no token; every other route needs a valid access token. */
  auth: 'public' | 'user';
  params?: Joi.ObjectSchema<P>;
  query?: Joi.ObjectSchema<Q>;
  body?: Joi.Schema<B>;
  /** Status codes the route answers besides errors, with a short description each. */
  responses: Record<number, string>;
  /** Extra middleware run after authentication and before validation (e.g. a stricter rate limit). */
  before?: RequestHandler[];
  handler: (req: Request, res: Response, input: Validated<P, Q, B>) => Promise<void> | void;
}

// Routes of different shapes live in one list; the handler's input type is checked at declaration.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyRouteSpec = RouteSpec<any, any, any>;

/** Declares a route with its input types inferred from its schemas. */
export function route<P = Record<string, never>, Q = Record<string, never>, B = undefined>(spec: RouteSpec<P, Q, B>): RouteSpec<P, Q, B> {
  return spec;
}

const VALIDATION_OPTIONS: Joi.ValidationOptions = {
  abortEarly: false,
  allowUnknown: false,
  convert: true,
  errors: { wrap: { label: false } },
};

/** Validates one part of the request; collects every failing field into the 400's details. */
function check<T>(schema: Joi.Schema<T> | undefined, value: unknown, where: 'params' | 'query' | 'body', details: Record<string, string>): T {
  if (!schema) {
    const empty = value === undefined || (typeof value === 'object' && value !== null && Object.keys(value).length === 0);
    if (!empty) details[where] = `${where} is not accepted by this route`;
    return value as T;
  }
  const { value: out, error } = schema.validate(value ?? (where === 'body' ? undefined : {}), VALIDATION_OPTIONS);
  for (const d of error?.details ?? []) {
    const field = d.path.length > 0 ? `${where}.${d.path.join('.')}` : where;
    details[field] ??= d.message;
  }
  return out as T;
}

/** PostgreSQL cannot store U+0000 in text or JSONB: refused for every route, before any write. */
function containsNul(value: unknown): boolean {
  if (typeof value === 'string') return value.includes('\u0000');
  if (Array.isArray(value)) return value.some(containsNul);
  if (value && typeof value === 'object') return Object.entries(value).some(([k, v]) => k.includes('\u0000') || containsNul(v));
  return false;
}

function validateInput(spec: AnyRouteSpec, req: Request): Validated<unknown, unknown, unknown> {
  const details: Record<string, string> = {};
  for (const where of ['params', 'query', 'body'] as const) {
    const value: unknown = req[where];
    if (value && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, v] of Object.entries(value)) {
        if (containsNul(key) || containsNul(v)) details[`${where}.${key}`] = `${key} must not contain the NUL character`;
      }
    } else if (containsNul(value)) {
      details[where] = `${where} must not contain the NUL character`;
    }
  }
  const params = check(spec.params, req.params, 'params', details);
  const query = check(spec.query, req.query, 'query', details);
  const body = check(spec.body, req.body, 'body', details);
  if (Object.keys(details).length > 0) {
    // An id that is not even a UUID names nothing: answer as for any unknown id.
    const badIds = Object.keys(details).filter((f) => f.startsWith('params.'));
    if (badIds.length > 0 && badIds.length === Object.keys(details).length) throw new HttpError(404, 'not_found', 'no such resource');
    throw new HttpError(400, 'validation_failed', 'the request is invalid', details);
  }
  return { params, query, body };
}

export interface MountOptions {
  /** Runs for every non-public route before validation: sets `req.auth` or fails with 401, then per-user limits. */
  authenticate: RequestHandler[];
}

export function mountRoutes(router: Router, routes: readonly AnyRouteSpec[], options: MountOptions): void {
  for (const spec of routes) {
    const chain: RequestHandler[] = [];
    if (spec.auth === 'user') chain.push(...options.authenticate);
    chain.push(...(spec.before ?? []));
    chain.push(async (req: Request, res: Response, next: NextFunction) => {
      try {
        await spec.handler(req, res, validateInput(spec, req));
      } catch (err) {
        next(err);
      }
    });
    router[spec.method](spec.path, ...chain);
  }
}

/** Common schemas, so every route spells ids, paging and names the same way. */
export const schemas = {
  id: Joi.string().guid({ version: ['uuidv4', 'uuidv7', 'uuidv1'] }),
  idParams: Joi.object({ id: Joi.string().guid().required() }),
  name: Joi.string().trim().min(1).max(100),
  limit: Joi.number().integer().min(1).max(100).default(20),
  cursor: Joi.string().max(200),
};
