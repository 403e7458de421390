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

/**
 * How deeply a request body may nest arrays and objects. Every walk of a body (the NUL check below,
 * Joi, JSON.stringify, PostgreSQL's JSONB parser) is bounded by it; the deepest legitimate input is
 * free-form JSON data (contents-common.ts `jsonObject`, 20 levels) inside a body.
 */
export const MAX_BODY_DEPTH = 32;

/** Whether `value` nests arrays and objects more than `max` levels deep; iterative, so any depth is safe to ask about. */
function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (item === null || typeof item !== 'object') continue;
    if (depth > max) return true;
    for (const child of Array.isArray(item) ? item : Object.values(item)) {
      if (child !== null && typeof child === 'object') stack.push([child, depth + 1]);
    }
  }
  return false;
}

/**
 * Refuses a parsed JSON body nested deeper than MAX_BODY_DEPTH with 400 body_too_deep; mounted
 * right after the body parser, before any route, authentication or validation walks the body.
 */
export const limitBodyDepth: RequestHandler = (req, _res, next) => {
  if (nestsDeeperThan(req.body, MAX_BODY_DEPTH)) {
    return next(
      new HttpError(400, 'body_too_deep', `request body nests arrays and objects more than ${MAX_BODY_DEPTH} levels deep`, {
        body: `must nest at most ${MAX_BODY_DEPTH} levels of arrays and objects`,
      }),
    );
  }
  next();
};

/** PostgreSQL cannot store U+0000 in text or JSONB: refused for every route, before any write. Iterative: no depth can overflow the stack. */
function containsNul(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const item = stack.pop();
    if (typeof item === 'string') {
      if (item.includes('\u0000')) return true;
    } else if (Array.isArray(item)) {
      for (const v of item) stack.push(v);
    } else if (item !== null && typeof item === 'object') {
      for (const [k, v] of Object.entries(item)) {
        if (k.includes('\u0000')) return true;
        stack.push(v);
      }
    }
  }
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
