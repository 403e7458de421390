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
  if (err instanceof HttpError) {
    error = err;
  } else if (isClientHttpError(err)) {
    // body-parser's errors (http-errors): malformed JSON, a body over the limit, an unsupported charset.
    error =
      err.status === 413
        ? new HttpError(413, 'payload_too_large', 'request body is too large')
        : err.type === 'entity.parse.failed'
          ? new HttpError(400, 'malformed_body', 'request body is not valid JSON')
          : new HttpError(err.status, 'bad_request', err.message);
  } else {
    log.error({ err, requestId: res.getHeader('x-request-id'), method: req.method, path: req.path }, 'unhandled error');
    error = new HttpError(500, 'internal_error', 'internal error');
  }
  if (res.headersSent) return;
  res.status(error.status).json({ error: { status: error.status, code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } });
};

function isClientHttpError(err: unknown): err is { status: number; type?: string; message: string } {
  if (typeof err !== 'object' || err === null) return false;
  const { status, expose } = err as { status?: unknown; expose?: unknown };
  return typeof status === 'number' && status >= 400 && status < 500 && expose === true;
}
