import type { YoutubeChannelSourceConfig } from '../../db/models/json';
import { PermanentProviderError, ProviderError } from '../errors';
import type { CallOptions } from '../types';
import { FetchSession } from './http';
import { compactJson, isAfter, maxItemsOf, newestFirst, parseDate, plainLine, plainText, sinceOf } from './items';
import { resolveSourceSettings, type ResolvedSourceSettings, type SourceFetcher, type SourceFetchRequest, type SourceFetchResult, type SourceItem, type SourceSettings } from './types';

/**
 * YouTube channel sources (`{channel_id, extract_mode, min_duration?, max_age_days?}`) through the
 * YouTube Data API v3 with an API key: the channel's uploads playlist (channels.list, by id or
 * by @handle), its newest entries (playlistItems.list, page by page until older than the bound),
 * then their durations (videos.list). Videos shorter than `min_duration` seconds, older than
 * `max_age_days` or `since`, and live or upcoming broadcasts are left out. Each list call costs
 * one quota unit, reported as the usage's `inputUnits`.
 */

const YOUTUBE_LIST_QUOTA_UNITS = 1;

const PAGE_SIZE = 50;
const DAY_MS = 86_400_000;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function records(value: unknown): Record<string, unknown>[] {
  return Array.isArray(value) ? value.filter(isRecord) : [];
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

/** Seconds of an ISO 8601 duration such as PT1H2M3S, P1DT2H or P0D; undefined when unreadable. */
export function parseIsoDurationSec(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const match = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(value.trim());
  if (!match || match.slice(1).every((part) => part === undefined) || value.trim().endsWith('T')) return undefined;
  const [weeks, days, hours, minutes, seconds] = match.slice(1).map((part) => Number(part ?? 0)) as [number, number, number, number, number];
  return Math.round(((weeks * 7 + days) * 24 + hours) * 3600 + minutes * 60 + seconds);
}

interface Candidate {
  videoId: string;
  publishedAt?: Date;
}

export class YouTubeChannelFetcher implements SourceFetcher {
  readonly sourceType = 'youtube_channel' as const;
  private readonly settings: ResolvedSourceSettings;
  private readonly apiKey: string;

  constructor(
    private readonly config: YoutubeChannelSourceConfig,
    settings: SourceSettings = {},
  ) {
    this.settings = resolveSourceSettings(settings);
    if (!this.settings.youtubeApiKey) throw new PermanentProviderError('youtube_channel sources need a YouTube Data API key (YOUTUBE_API_KEY)');
    this.apiKey = this.settings.youtubeApiKey;
    if (typeof config.channel_id !== 'string' || !/^(UC[\w-]{22}|@[\w.-]{3,30})$/.test(config.channel_id)) {
      throw new PermanentProviderError(`channel_id must be a YouTube channel id (UC…) or handle (@…), got ${JSON.stringify(config.channel_id)}`);
    }
  }

  async fetch(request: SourceFetchRequest = {}, options: CallOptions = {}): Promise<SourceFetchResult> {
    options.signal?.throwIfAborted();
    const now = request.now ?? new Date();
    const since = sinceOf(request);
    const maxAge = this.config.max_age_days ? new Date(now.getTime() - this.config.max_age_days * DAY_MS) : undefined;
    const bound = since && maxAge ? (since > maxAge ? since : maxAge) : (since ?? maxAge);
    const session = new FetchSession('youtube', 'YouTube Data API', this.settings, options, [this.apiKey]);

    const uploads = await this.uploadsPlaylist(session);
    options.onProgress?.(20);
    const candidates = await this.newestUploads(session, uploads, bound);
    options.onProgress?.(60);
    const items: SourceItem[] = [];
    for (let start = 0; start < candidates.length; start += PAGE_SIZE) {
      const ids = candidates.slice(start, start + PAGE_SIZE).map((candidate) => candidate.videoId);
      const query = this.query({ part: 'contentDetails,snippet', id: ids.join(',') });
      const videos = await session.getJson(`${this.api}/videos?${query}`, (body) => records(body.items), { context: 'videos.list', units: YOUTUBE_LIST_QUOTA_UNITS });
      for (const video of videos) {
        const item = this.videoItem(video, bound);
        if (item) items.push(item);
      }
    }
    options.onProgress?.(100);
    const kept = newestFirst(items, maxItemsOf(request));
    return { items: kept, usage: [session.usage(kept.length)] };
  }

  private get api(): string {
    return `${this.settings.endpoints.youtubeApiUrl}/youtube/v3`;
  }

  private query(params: Record<string, string>): string {
    return new URLSearchParams({ ...params, key: this.apiKey }).toString();
  }

  private async uploadsPlaylist(session: FetchSession): Promise<string> {
    const channel = this.config.channel_id;
    const query = this.query({ part: 'contentDetails', ...(channel.startsWith('@') ? { forHandle: channel } : { id: channel }) });
    return session.getJson(
      `${this.api}/channels?${query}`,
      (body, response) => {
        const found = records(body.items)[0];
        if (!found) throw new ProviderError('youtube', 'not_found', `YouTube Data API: channel ${channel} was not found`, { statusCode: response.status });
        const details = isRecord(found.contentDetails) && isRecord(found.contentDetails.relatedPlaylists) ? found.contentDetails.relatedPlaylists : {};
        const uploads = text(details.uploads);
        if (uploads === '') throw new Error(`channel ${channel} has no uploads playlist in contentDetails.relatedPlaylists`);
        return uploads;
      },
      { context: `channels.list ${channel}`, units: YOUTUBE_LIST_QUOTA_UNITS },
    );
  }

  /** The uploads newer than `bound`, newest first, reading pages until one reaches past it. */
  private async newestUploads(session: FetchSession, playlistId: string, bound: Date | undefined): Promise<Candidate[]> {
    const candidates: Candidate[] = [];
    let pageToken: string | undefined;
    for (let page = 0; page < this.settings.youtubeMaxPages; page += 1) {
      const query = this.query({ part: 'contentDetails,snippet', playlistId, maxResults: String(PAGE_SIZE), ...(pageToken ? { pageToken } : {}) });
      const answer = await session.getJson(
        `${this.api}/playlistItems?${query}`,
        (body) => ({ entries: records(body.items), next: text(body.nextPageToken) || undefined }),
        { context: 'playlistItems.list', units: YOUTUBE_LIST_QUOTA_UNITS },
      );
      let reachedBound = false;
      for (const entry of answer.entries) {
        const details = isRecord(entry.contentDetails) ? entry.contentDetails : {};
        const snippet = isRecord(entry.snippet) ? entry.snippet : {};
        const resource = isRecord(snippet.resourceId) ? snippet.resourceId : {};
        const videoId = text(details.videoId) || text(resource.videoId);
        const publishedAt = parseDate(text(details.videoPublishedAt) || text(snippet.publishedAt) || undefined);
        if (!/^[\w-]{6,20}$/.test(videoId)) continue;
        if (isAfter(publishedAt, bound)) candidates.push({ videoId, ...(publishedAt ? { publishedAt } : {}) });
        else reachedBound = true;
      }
      pageToken = answer.next;
      if (reachedBound || !pageToken) break;
    }
    return [...new Map(candidates.map((candidate) => [candidate.videoId, candidate])).values()];
  }

  private videoItem(video: Record<string, unknown>, bound: Date | undefined): SourceItem | undefined {
    const videoId = text(video.id);
    const snippet = isRecord(video.snippet) ? video.snippet : {};
    const details = isRecord(video.contentDetails) ? video.contentDetails : {};
    const live = text(snippet.liveBroadcastContent);
    const durationSec = parseIsoDurationSec(details.duration);
    const publishedAt = parseDate(text(snippet.publishedAt) || undefined);
    const minDuration = this.config.min_duration ?? 0;
    if (videoId === '' || (live !== '' && live !== 'none') || !isAfter(publishedAt, bound)) return undefined;
    if (minDuration > 0 && (durationSec === undefined || durationSec < minDuration)) return undefined;
    const title = plainLine(text(snippet.title)) || videoId;
    const description = plainText(text(snippet.description));
    const url = `https://www.youtube.com/watch?v=${videoId}`;
    const published = publishedAt?.toISOString();
    return {
      key: `youtube:${videoId}`,
      title,
      url,
      ...(published ? { publishedAt: published } : {}),
      summary: description,
      data: compactJson({
        source: 'youtube_channel',
        kind: 'youtube#video',
        videoId,
        channelId: text(snippet.channelId) || undefined,
        channelTitle: plainLine(text(snippet.channelTitle), 100) || undefined,
        title,
        description,
        link: url,
        published_at: published,
        duration_sec: durationSec,
        tags: (Array.isArray(snippet.tags) ? snippet.tags : [])
          .filter((tag): tag is string => typeof tag === 'string')
          .map((tag) => plainLine(tag, 60))
          .slice(0, 10),
        extract_mode: this.config.extract_mode,
      }),
    };
  }
}
