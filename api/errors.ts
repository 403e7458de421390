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
  } else if (isBodyParserError(err)) {
    error = err.type === 'entity.too.large'
      ? new HttpError(413, 'payload_too_large', 'request body is too large')
      : new HttpError(400, 'malformed_body', 'request body is not valid JSON');
  } else {
    log.error({ err, requestId: res.getHeader('x-request-id'), path: req.path }, 'unhandled error');
    error = new HttpError(500, 'internal_error', 'internal error');
  }
  res.status(error.status).json({ error: { status: error.status, code: error.code, message: error.message, details: error.details } });
};

function isBodyParserError(err: unknown): err is { type: string } {
  return typeof err === 'object' && err !== null && 'type' in err && typeof (err as { type: unknown }).type === 'string';
}
