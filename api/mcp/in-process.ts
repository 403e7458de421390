import { createServer, request, type OutgoingHttpHeader, type RequestListener } from 'node:http';
import { duplexPair } from 'node:stream';
import type { Request } from 'express';

/**
 * The API's own routes, called from inside the process: each call is a real HTTP exchange between
 * Node's HTTP client and an HTTP server of the same Express app, over a pair of connected streams
 * rather than a port. The route runs exactly as for a client on the network: authentication (the
 * caller's token or API key, and an API key's scope), rate limits, validation, tenancy, the handler
 * and the one error shape.
 */

/** What a route answered: its status and its JSON body (null when it sent none). */
export interface ApiAnswer {
  status: number;
  body: unknown;
}

/** Calls one route of the API as the caller; query strings go in `path`. */
export type CallApi = (method: 'GET' | 'POST', path: string, body?: object) => Promise<ApiAnswer>;

/** The caller's headers every call carries: who calls, and through which client and proxies. */
const FORWARDED_HEADERS = ['authorization', 'user-agent', 'x-forwarded-for'] as const;

/** Returns, per request, a `CallApi` that calls `app`'s routes as that request's caller. */
export function inProcessApi(app: RequestListener): (caller: Request) => CallApi {
  // Never listens: connections are handed to it one call at a time.
  const server = createServer(app);
  return (caller) => (method, path, body) =>
    new Promise<ApiAnswer>((resolve, reject) => {
      const [clientSide, serverSide] = duplexPair();
      // The route sees the caller's address (req.ip, counted by the per-address limit), computed
      // from this and the forwarded X-Forwarded-For as for the caller's own request.
      Object.defineProperty(serverSide, 'remoteAddress', { value: caller.socket.remoteAddress });
      server.emit('connection', serverSide);
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, OutgoingHttpHeader> = { 'x-request-id': caller.requestId };
      for (const name of FORWARDED_HEADERS) {
        const value = caller.headers[name];
        if (value !== undefined) headers[name] = value;
      }
      if (payload !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = Buffer.byteLength(payload);
      }
      const outgoing = request({ method, path, headers, createConnection: () => clientSide }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          try {
            resolve({ status: res.statusCode ?? 500, body: text === '' ? null : JSON.parse(text) });
          } catch (err) {
            reject(err);
          }
        });
      });
      outgoing.on('error', reject);
      outgoing.end(payload);
    });
}
