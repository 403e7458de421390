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
  } else {
    log.error({ err, requestId: res.getHeader('x-request-id'), method: req.method, path: req.path }, 'unhandled error');
    error = new HttpError(500, 'internal_error', 'internal error');
  }
  if (res.headersSent) return;
  res.status(error.status).json({ error: { status: error.status, code: error.code, message: error.message, ...(error.details ? { details: error.details } : {}) } });
};

/** The 4xx `status` (or `statusCode`) express, its router or its body parser put on an error; only an `expose`d one's message is shown. */
function clientStatusOf(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const { status, statusCode } = err as { status?: unknown; statusCode?: unknown };
  const code = typeof status === 'number' ? status : statusCode;
  return typeof code === 'number' && Number.isInteger(code) && code >= 400 && code < 500 ? code : undefined;
}
