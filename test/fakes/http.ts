import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** What every local fake server needs: a loopback listener, a JSON answer and the whole request body. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=UTF-8', 'Content-Length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

export async function readAll(req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const part of req) parts.push(part as Buffer);
  return Buffer.concat(parts);
}

/** True when a caption (title, description and hashtags as paragraphs) opens with `title` as its own line. */
export function captionOpensWith(caption: string, title: string): boolean {
  return caption === title || caption.startsWith(`${title}\n`);
}

export interface LocalServer {
  baseUrl: string;
  close(): Promise<void>;
}

/**
 * Serves `handle` on a loopback port of the system's choice. A request whose handling throws or
 * rejects gets `onError`'s answer, or loses its connection when its answer has already begun.
 */
export async function serveLocally(
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void> | void,
  onError: (res: ServerResponse, error: unknown) => void,
): Promise<LocalServer> {
  const server = createServer((req, res) => {
    const fail = (error: unknown): void => {
      if (!res.headersSent) onError(res, error);
      else res.destroy();
    };
    try {
      Promise.resolve(handle(req, res)).catch(fail);
    } catch (error) {
      fail(error);
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** What a storm answers: its status, and the Retry-After of a 429. */
export interface StormAnswer {
  status: number;
  retryAfterSec?: number;
}

/**
 * A provider outage a fake can be put in: for a number of seconds it answers every request with
 * one status (429 with Retry-After, or a 5xx) in its own error format, and counts the requests it
 * turned away.
 */
export class Storm {
  private until = 0;
  private answer: StormAnswer = { status: 503 };
  /** Requests answered by a storm, over the fake's life. */
  answered = 0;

  start(seconds: number, answer: StormAnswer): void {
    this.answer = answer;
    this.until = Date.now() + seconds * 1000;
  }

  /** The storm's answer while it lasts (counting the request it is given for), else undefined. */
  take(): StormAnswer | undefined {
    if (Date.now() >= this.until) return undefined;
    this.answered += 1;
    return this.answer;
  }
}
