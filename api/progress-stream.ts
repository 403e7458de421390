import type { Request, Response } from 'express';
import { moduleLogger } from '../lib/logger';

const log = moduleLogger('api');

export interface ProgressStreamSource<S> {
  /** Subscribes to the run's notices; the returned function unsubscribes. */
  follow(listener: (message: string) => void): Promise<() => void>;
  /** Names the stream in logs. */
  label: string;
  /** The current state, sent first as a `progress` event and again, final, when the run ends. */
  current(): Promise<S>;
  /** Whether a state is of a production still going on; otherwise the stream ends after the first event. */
  running(state: S): boolean;
  /** Resolves when the run of `state` ends (true) or can no longer be followed (false); aborted when the client leaves. */
  ended(state: S, signal: AbortSignal): Promise<boolean>;
  /** Turns a pub/sub message into the data of a `job` event, or undefined to skip it. */
  toEvent(message: string): unknown;
  heartbeatMs: number;
}

/** JSON with <, > and & escaped, as the app's JSON responses ('json escape'), should a stream ever be rendered as HTML. */
function escapedJson(data: unknown): string {
  return JSON.stringify(data).replace(/[<>&]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Writes one event; nothing once the client has gone (a write after the end would be an error). */
function writeEvent(res: Response, event: string, data: unknown): void {
  if (!res.writableEnded && !res.destroyed) res.write(`event: ${event}\ndata: ${escapedJson(data)}\n\n`);
}

/**
 * Serves a Server-Sent Events stream of a production's progress. Everything that can fail with an
 * error response (the subscription, the first state) happens before the headers are sent, so such
 * errors keep the API's JSON shape. Messages arriving while the first state is read are held and
 * sent after it, so none is lost between the two.
 */
export async function serveProgressStream<S>(req: Request, res: Response, source: ProgressStreamSource<S>): Promise<void> {
  const held: string[] = [];
  let open = false;
  let gone = false;
  res.once('close', () => {
    gone = true;
  });
  const forward = (message: string) => {
    const data = source.toEvent(message);
    if (data !== undefined) writeEvent(res, 'job', data);
  };
  const unsubscribe = await source.follow((message) => (open ? forward(message) : held.push(message)));
  let initial: S;
  try {
    initial = await source.current();
  } catch (err) {
    unsubscribe();
    throw err;
  }
  // The client may have left while the first state was read: its 'close' has passed already.
  if (gone) {
    unsubscribe();
    return;
  }

  res.status(200);
  res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
  res.setHeader('Cache-Control', 'no-cache, no-store');
  // Proxies such as nginx would otherwise buffer the stream.
  res.setHeader('X-Accel-Buffering', 'no');
  res.flushHeaders();
  req.socket.setNoDelay(true);
  open = true;
  writeEvent(res, 'progress', initial);
  held.splice(0).forEach(forward);

  const abort = new AbortController();
  const heartbeat = setInterval(() => {
    if (!res.writableEnded && !res.destroyed) res.write(': heartbeat\n\n');
  }, source.heartbeatMs);
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    abort.abort();
    unsubscribe();
    res.end();
  };
  res.on('close', close);
  if (!source.running(initial)) {
    writeEvent(res, 'end', { reason: 'not_running' });
    close();
    return;
  }
  void source
    .ended(initial, abort.signal)
    .then(async (ended) => {
      if (!ended || closed) return;
      writeEvent(res, 'progress', await source.current());
      writeEvent(res, 'end', { reason: 'finished' });
    })
    .catch((err: unknown) => {
      if (!closed) log.warn({ err, stream: source.label }, 'progress stream stopped following the run');
    })
    .finally(close);
}
