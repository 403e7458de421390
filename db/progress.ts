import type { Redis } from 'ioredis';
import { moduleLogger } from '../lib/logger';

const log = moduleLogger('progress');

/**
 * Live progress of a content's production travels on one Redis pub/sub channel per content: the
 * worker's recording publishes, the API's Server-Sent Events stream subscribes. Publishing is best
 * effort: progress notices are a convenience for watchers, and a Redis outage must never fail (and
 * so repeat) the work they describe.
 */
export function progressChannel(contentId: string): string {
  return `content:${contentId}:progress`;
}

type Listener = (message: string) => void;

interface ChannelEntry {
  listeners: Set<Listener>;
  /** Settles when Redis confirmed the SUBSCRIBE; a listener waits for it before it counts on messages. */
  subscribed: Promise<unknown>;
}

/**
 * Fans Redis pub/sub messages out to the clients of this process: one subscriber connection for all
 * channels, one SUBSCRIBE per channel however many clients follow it, an UNSUBSCRIBE when its last
 * client leaves, and the connection closed when no channel is left.
 */
class ProgressHub {
  private subscriber: Redis | undefined;
  private readonly channels = new Map<string, ChannelEntry>();

  constructor(private readonly redis: Redis) {}

  /** Calls `listener` with every message on `channel` until the returned function is called. */
  async subscribe(channel: string, listener: Listener): Promise<() => void> {
    let entry = this.channels.get(channel);
    if (!entry) {
      entry = { listeners: new Set(), subscribed: this.connection().subscribe(channel) };
      this.channels.set(channel, entry);
    }
    entry.listeners.add(listener);
    const leave = () => this.leave(channel, listener);
    try {
      await entry.subscribed;
    } catch (err) {
      leave();
      throw err;
    }
    return leave;
  }

  private leave(channel: string, listener: Listener): void {
    const entry = this.channels.get(channel);
    if (!entry?.listeners.delete(listener) || entry.listeners.size > 0) return;
    this.channels.delete(channel);
    const subscriber = this.subscriber;
    if (!subscriber) return;
    if (this.channels.size === 0) {
      this.subscriber = undefined;
      subscriber.quit().catch((err: unknown) => log.warn({ err }, 'closing the progress subscriber failed'));
    } else {
      subscriber.unsubscribe(channel).catch((err: unknown) => log.warn({ err, channel }, 'unsubscribe failed'));
    }
  }

  private connection(): Redis {
    if (this.subscriber) return this.subscriber;
    const subscriber = this.redis.duplicate();
    subscriber.on('message', (channel: string, message: string) => {
      // A connection being closed may still deliver; its channels now belong to the next one.
      if (subscriber !== this.subscriber) return;
      for (const listener of this.channels.get(channel)?.listeners ?? []) listener(message);
    });
    subscriber.on('error', (err: unknown) => log.warn({ err }, 'progress subscriber error'));
    this.subscriber = subscriber;
    return subscriber;
  }
}

/** A content's progress notices: published by workers, followed by API streams. */
export class ProgressEvents {
  private readonly hub: ProgressHub;

  constructor(private readonly redis: Redis) {
    this.hub = new ProgressHub(redis);
  }

  /** Publishes one notice; a failure is logged, never thrown. */
  async publish(contentId: string, notice: Record<string, unknown>): Promise<void> {
    try {
      await this.redis.publish(progressChannel(contentId), JSON.stringify(notice));
    } catch (err) {
      log.warn({ err, contentId }, 'progress notice not published');
    }
  }

  /** Calls `listener` with every notice of the content until the returned function is called. */
  follow(contentId: string, listener: Listener): Promise<() => void> {
    return this.hub.subscribe(progressChannel(contentId), listener);
  }
}
