import { STATUS_CODES } from 'node:http';
import type { ErrorRequestHandler, RequestHandler } from 'express';
import { moduleLogger } from '../lib/logger';

const log = moduleLogger('api');

/** The one error shape of the API: `{ error: { status, code, message, details? } }`. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: Record<string, string>,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound: RequestHandler = (req, _res, next) => {
  next(new HttpError(404, 'not_found', `no route for ${req.method} ${req.path}`));
};

/** Turns anything thrown into the JSON error shape; never sends a stack trace. */
export const errorHandler: ErrorRequestHandler = (err: unknown, req, res, _next) => {
  let error: HttpError;
  const clientStatus = clientStatusOf(err);
  if (err instanceof HttpError) {
    error = err;
  } else if (clientStatus !== undefined) {
    // body-parser's errors (http-errors): malformed JSON, a body over the limit, an unsupported charset;
    // the router's: a path parameter that is not valid percent-encoding (`/contents/%ZZ`, a URIError).
    const { type, expose, message } = err as { type?: unknown; expose?: unknown; message?: unknown };
    error =
      clientStatus === 413
        ? new HttpError(413, 'payload_too_large', 'request body is too large')
        : type === 'entity.parse.failed'
          ? new HttpError(400, 'malformed_body', 'request body is not valid JSON')
          : err instanceof URIError
            ? new HttpError(400, 'malformed_path', 'the request path holds a malformed percent-escape')
            : new HttpError(clientStatus, 'bad_request', expose === true && typeof message === 'string' ? message : (STATUS_CODES[clientStatus] ?? 'bad request'));
  } else if (isStoreUnavailable(err)) {
    log.warn({ err, requestId: res.getHeader('x-request-id'), method: req.method, path: req.path }, 'a store is unavailable');
    error = new HttpError(503, 'service_unavailable', 'a service the platform depends on is unavailable; nothing was changed, try again shortly');
    res.setHeader('retry-after', String(UNAVAILABLE_RETRY_AFTER_S));
  } else {
    log.error({ err, requestId: res.getHeader('x-request-id'), method: req.method, path: req.path }, 'unhandled error');
    error = new HttpError(500, 'internal_error', 'internal error');
  }
  if (res.headersSent) return;
  res.status(error.status).json({ error: { status: error.status, code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } });
};

const UNAVAILABLE_RETRY_AFTER_S = 5;

/** Errors of a store that cannot be reached (PostgreSQL, Redis, MongoDB, S3, Temporal), as their clients name them. */
const UNAVAILABLE_NAMES = new Set([
  'SequelizeConnectionError', 'SequelizeConnectionRefusedError', 'SequelizeConnectionTimedOutError', 'SequelizeHostNotFoundError',
  'SequelizeHostNotReachableError', 'SequelizeConnectionAcquireTimeoutError', 'MaxRetriesPerRequestError', 'MongoServerSelectionError',
  'MongoNetworkError', 'MongoNetworkTimeoutError', 'MongoNotConnectedError',
]);
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH']);

/**
 * A failure to reach a store, here or in the errors it wraps: answered 503 with Retry-After, not
 * 500, since the request may succeed once the store is back (a failover, a restart).
 */
function isStoreUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== 'object' || err === null || depth > 4) return false;
  const { name, code, message, cause, original, parent } = err as { name?: unknown; code?: unknown; message?: unknown; cause?: unknown; original?: unknown; parent?: unknown };
  if (typeof name === 'string' && UNAVAILABLE_NAMES.has(name)) return true;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  // ioredis while disconnected, without its offline queue or after it gave up on the request.
  if (typeof message === 'string' && /^(Connection is closed\.|Stream isn't writeable)/.test(message)) return true;
  return [cause, original, parent].some((inner) => inner !== err && isStoreUnavailable(inner, depth + 1));
}

/** The 4xx `status` (or `statusCode`) express, its router or its body parser put on an error; only an `expose`d one's message is shown. */
function clientStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  return typeof code === 'number' && Number.isInteger(code) && code >= 400 && code < 500 ? code : undefined;
}
