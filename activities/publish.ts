import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { processWorkDir } from './work-folders';
import { join } from 'node:path';
import { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Op } from 'sequelize';
import type { ContentWithProject } from '../db/repositories/contents';
import type { DueUpload } from '../db/repositories/uploads';
import type { Channel, Content, ContentUpload as ContentUploadRow, Platform, Project, TargetPlatform, UploadMetrics, UploadSettings, Visibility } from '../db/models';
import type { AppContext } from '../control/app-context';
import { emitWebhookEvent, projectOwner } from '../control/webhooks';
import { nextLocalTime } from '../lib/calendar';
import { describeWithChapters, videoChapters } from '../lib/chapters';
import { moduleLogger } from '../lib/logger';
import { SecretBox } from '../lib/secrets';
import { isProviderError, ProviderError } from '../providers/errors';
import type { InstagramClient, InstagramCredentials } from '../providers/platforms/instagram';
import type { TikTokClient, TikTokCredentials, TikTokPrivacyLevel } from '../providers/platforms/tiktok';
import type { PlatformAccessToken, PlatformCallOptions, PlatformUploadOptions, PlatformUploadResult, PlatformVideoStatistics } from '../providers/platforms/types';
import { YOUTUBE_DESCRIPTION_MAX_BYTES, type YouTubeClient, type YouTubeCredentials, type YouTubePrivacyStatus } from '../providers/platforms/youtube';
import type { ProviderUsage } from '../providers/types';
import { toActivityFailure } from './failures';
import { contentMediaKeys } from './media-keys';
import { currentJob, recordSafely, recordUsage, reportProgress } from './recording';
import { loadContent } from './scope';
import { runEventId } from './webhooks';

const log = moduleLogger('publish');

/** The platform clients a worker publishes with, one per `channels.platform`. */
export interface PlatformClients {
  youtube: YouTubeClient;
  tiktok: TikTokClient;
  instagram: InstagramClient;
}

const PLATFORM_OF_TARGET: Readonly<Record<TargetPlatform, Platform>> = {
  youtube: 'youtube',
  youtube_shorts: 'youtube',
  tiktok: 'tiktok',
  instagram_reels: 'instagram',
};

const TIKTOK_PRIVACY: Readonly<Record<Visibility, TikTokPrivacyLevel>> = {
  public: 'PUBLIC_TO_EVERYONE',
  private: 'SELF_ONLY',
  unlisted: 'MUTUAL_FOLLOW_FRIENDS',
};

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Refresh a token this long before it expires, so an upload never starts with a dying token. */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;
/** Instagram's long-lived tokens last 60 days and refresh only once a day old: renewed in their last week. */
const INSTAGRAM_REFRESH_WITHIN_MS = 7 * DAY_MS;
/** Instagram fetches the video itself; the presigned URL outlives its processing. */
const INSTAGRAM_VIDEO_URL_TTL_SEC = 3 * 3600;
/** How long the video link of a content.ready event works. */
const READY_LINK_TTL_SEC = 24 * 3600;

/** How often an upload's counters are read, by its age since publication: [younger than, every]. */
const METRICS_REFRESH_STEPS: readonly (readonly [number, number])[] = [
  [DAY_MS, HOUR_MS],
  [7 * DAY_MS, 6 * HOUR_MS],
  [30 * DAY_MS, DAY_MS],
];
const METRICS_REFRESH_OLDEST_MS = 7 * DAY_MS;

/** Milliseconds between two metrics reads of an upload published `ageMs` ago: hourly on its first day, then every 6 hours, daily, weekly after 30 days. */
export function metricsRefreshInterval(ageMs: number): number {
  return METRICS_REFRESH_STEPS.find(([youngerThan]) => ageMs < youngerThan)?.[1] ?? METRICS_REFRESH_OLDEST_MS;
}

/** Where provider calls are recorded: the running job's scope, or the channel owner's rows. */
type UsageSink = (usage: ProviderUsage, error?: string) => Promise<void>;

/** What an upload needs beyond the channel. */
interface Publication {
  content: Content;
  project: Project;
  settings: UploadSettings;
  videoKey: string;
  /** Declared on the platforms that have a field for it (see `disclosesSyntheticMedia`). */
  syntheticMedia: boolean;
  /** Where an earlier attempt stopped (see `PlatformUploadOptions.onSession`), from the upload row. */
  session?: string;
  /** Downloads the rendered video to a local file, for platforms that receive the bytes. */
  download(): Promise<string>;
}

/** One platform as the activities drive it: token policy, credentials from the channel row, upload and counters. */
interface PlatformDriver {
  tokenDue(channel: Channel, now: number): boolean;
  refresh(channel: Channel, options: PlatformCallOptions): Promise<PlatformAccessToken>;
  upload(channel: Channel, publication: Publication, options: PlatformUploadOptions): Promise<PlatformUploadResult>;
  /** Video ids per `fetchStatistics` call: one request of the platform, so the activity heartbeats between them. */
  statisticsBatch: number;
  /** Ids the platform can be asked about (TikTok has no public id for a private post). */
  readable(videoId: string): boolean;
  fetchStatistics(channel: Channel, videoIds: string[], options: PlatformCallOptions): Promise<{ items: PlatformVideoStatistics[]; refreshedToken?: PlatformAccessToken }>;
}

/**
 * Whether an upload declares synthetic media (YouTube `status.containsSyntheticMedia`, TikTok
 * `post_info.is_aigc`, Instagram `is_ai_generated`): the project's
 * `style_preset.disclose_synthetic_media` when it is a boolean, else whether the content's voice or
 * pictures were generated. A voice is the deployment's TTS, synthetic always; the pictures count as
 * generated when one of them is (`media_assets[].source`) or none is recorded, not when every one
 * came from stock or the user.
 */
export function disclosesSyntheticMedia(project: Pick<Project, 'style_preset'>, content: Pick<Content, 'audio_url' | 'media_assets'>): boolean {
  const choice = project.style_preset?.disclose_synthetic_media;
  if (typeof choice === 'boolean') return choice;
  const pictures = (content.media_assets ?? []).filter((asset) => asset.type !== 'audio');
  return content.audio_url !== null || pictures.length === 0 || pictures.some((asset) => asset.source === 'generated');
}

/**
 * The description a YouTube upload carries: for mid and long videos, the content's description
 * followed by the chapters of its sections (lib/chapters.ts), computed at each upload and never
 * stored; short videos, and videos whose scenes give fewer than three chapters, as written.
 */
export function youtubeDescription(
  content: Pick<Content, 'title' | 'description' | 'script' | 'media_assets' | 'video_duration'>,
  project: Pick<Project, 'content_format' | 'language'>,
): string {
  const description = content.description ?? '';
  if (project.content_format !== 'mid' && project.content_format !== 'long') return description;
  const chapters = videoChapters({
    script: content.script,
    mediaAssets: content.media_assets ?? [],
    videoDurationSec: content.video_duration,
    fallbackTitle: content.title,
    ...(project.language ? { language: project.language } : {}),
  });
  return describeWithChapters(description, chapters, YOUTUBE_DESCRIPTION_MAX_BYTES);
}

/** Title, description and tags as one caption, the tags as hashtags. */
function captionOf(content: Content): string {
  const hashtags = (content.tags ?? []).map((tag) => `#${tag.replace(/[^\p{L}\p{N}_]/gu, '')}`).filter((tag) => tag.length > 1);
  return [content.title, content.description, hashtags.join(' ')].filter((part) => part && part.trim() !== '').join('\n\n');
}

function expiringWithin(channel: Channel, now: number, marginMs: number): boolean {
  const expiresAt = channel.token_expires_at?.getTime();
  return !channel.access_token || expiresAt === undefined || expiresAt - now <= marginMs;
}

/** Publishing: the upload rows, the channels' tokens and calendars, the platform uploads and their metrics. */
export function createPublishActivities(ctx: AppContext, clients: PlatformClients) {
  const { db } = ctx;
  const { Channel: ChannelModel, ContentUpload } = db.models;
  const box = SecretBox.fromConfig(ctx.config.secrets);

  /** A channel that can be published to; a channel in error fails with why it must be reconnected. */
  async function loadChannel(channelId: string): Promise<Channel> {
    const channel = await ChannelModel.findByPk(channelId);
    if (!channel) throw ApplicationFailure.nonRetryable(`channel ${channelId} does not exist`, 'ChannelNotFound');
    const named = `the ${channel.platform} channel ${JSON.stringify(channel.channel_name ?? channel.channel_id)} (${channelId})`;
    if (channel.status === 'error') {
      throw ApplicationFailure.nonRetryable(`${named} needs reconnecting: ${channel.status_reason ?? 'its authorization was refused'}`, 'ChannelNotConnected');
    }
    if (channel.status !== 'connected') throw ApplicationFailure.nonRetryable(`${named} is ${channel.status}`, 'ChannelNotConnected');
    return channel;
  }

  /** A channel without the token its platform needs must be reconnected, like one whose authorization was revoked. */
  function missingToken(channel: Channel, which: string): ProviderError {
    return new ProviderError(channel.platform, 'auth_revoked', `the channel has no ${which} token: reconnect it`);
  }

  function refreshTokenOf(channel: Channel): string {
    const refreshToken = channel.readRefreshToken(box);
    if (!refreshToken) throw missingToken(channel, 'refresh');
    return refreshToken;
  }

  function accessTokenOf(channel: Channel): { accessToken?: string; expiresAt?: Date } {
    const accessToken = channel.readAccessToken(box);
    return { ...(accessToken ? { accessToken } : {}), ...(channel.token_expires_at ? { expiresAt: channel.token_expires_at } : {}) };
  }

  function youtubeCredentials(channel: Channel): YouTubeCredentials {
    const { clientId, clientSecret } = ctx.config.youtube;
    return { clientId: clientId ?? '', clientSecret: clientSecret ?? '', refreshToken: refreshTokenOf(channel), ...accessTokenOf(channel) };
  }

  function tiktokCredentials(channel: Channel): TikTokCredentials {
    const { clientKey, clientSecret } = ctx.config.tiktok;
    return { clientKey: clientKey ?? '', clientSecret: clientSecret ?? '', refreshToken: refreshTokenOf(channel), ...accessTokenOf(channel) };
  }

  function instagramCredentials(channel: Channel): InstagramCredentials {
    const { accessToken, expiresAt } = accessTokenOf(channel);
    if (!accessToken) throw missingToken(channel, 'access');
    return { userId: channel.channel_id, accessToken, ...(expiresAt ? { expiresAt } : {}) };
  }

  const drivers: Readonly<Record<Platform, PlatformDriver>> = {
    youtube: {
      tokenDue: (channel, now) => expiringWithin(channel, now, TOKEN_REFRESH_MARGIN_MS),
      refresh: (channel, options) => clients.youtube.refreshAccessToken(youtubeCredentials(channel), options),
      async upload(channel, { content, project, settings, syntheticMedia, session, download }, options) {
        return clients.youtube.upload(
          {
            credentials: youtubeCredentials(channel),
            filePath: await download(),
            metadata: {
              title: content.title,
              description: youtubeDescription(content, project),
              tags: content.tags ?? [],
              privacyStatus: (settings.default_visibility ?? 'private') satisfies YouTubePrivacyStatus,
              madeForKids: settings.made_for_kids ?? false,
              containsSyntheticMedia: syntheticMedia,
              language: project.language,
            },
            urlStyle: project.content_format === 'short' ? 'shorts' : 'watch',
            ...(session ? { sessionUri: session } : {}),
          },
          options,
        );
      },
      statisticsBatch: 50,
      readable: () => true,
      fetchStatistics: (channel, videoIds, options) => clients.youtube.fetchStatistics(youtubeCredentials(channel), videoIds, options),
    },
    tiktok: {
      tokenDue: (channel, now) => expiringWithin(channel, now, TOKEN_REFRESH_MARGIN_MS),
      refresh: (channel, options) => clients.tiktok.refreshAccessToken(tiktokCredentials(channel), options),
      async upload(channel, { content, settings, syntheticMedia, session, download }, options) {
        return clients.tiktok.upload(
          {
            credentials: tiktokCredentials(channel),
            filePath: await download(),
            post: { title: captionOf(content), privacyLevel: TIKTOK_PRIVACY[settings.default_visibility ?? 'private'], aiGenerated: syntheticMedia },
            ...(content.video_duration ? { durationSec: content.video_duration } : {}),
            ...(session ? { session } : {}),
          },
          options,
        );
      },
      statisticsBatch: 20,
      readable: (videoId) => /^\d+$/.test(videoId),
      fetchStatistics: (channel, videoIds, options) => clients.tiktok.fetchStatistics(tiktokCredentials(channel), videoIds, options),
    },
    instagram: {
      tokenDue: (channel, now) => channel.token_expires_at !== null && channel.token_expires_at.getTime() - now <= INSTAGRAM_REFRESH_WITHIN_MS,
      refresh: (channel, options) => clients.instagram.refreshAccessToken(instagramCredentials(channel), options),
      async upload(channel, { content, videoKey, syntheticMedia, session }, options) {
        return clients.instagram.upload(
          {
            credentials: instagramCredentials(channel),
            videoUrl: await db.objects.presignedGetUrl(videoKey, INSTAGRAM_VIDEO_URL_TTL_SEC),
            caption: captionOf(content),
            aiGenerated: syntheticMedia,
            ...(session ? { session } : {}),
          },
          options,
        );
      },
      statisticsBatch: 1,
      readable: (videoId) => /^\d+$/.test(videoId),
      fetchStatistics: (channel, videoIds, options) => clients.instagram.fetchStatistics(instagramCredentials(channel), videoIds, options),
    },
  };

  /**
   * Seals a refreshed token into the channel at once (TikTok's old refresh token stops working as
   * soon as a new one is issued); the same token reported twice is stored once.
   */
  function tokenKeeper(channel: Channel): (token: PlatformAccessToken | undefined) => Promise<void> {
    let stored: string | undefined;
    return async (token) => {
      if (!token || token.accessToken === stored) return;
      stored = token.accessToken;
      channel.setTokens(box, { accessToken: token.accessToken, expiresAt: token.expiresAt, ...(token.refreshToken ? { refreshToken: token.refreshToken } : {}) });
      await channel.save();
    };
  }

  /**
   * Runs a platform call: every successful operation (`onUsage`) and failed exchange
   * (`onFailedCall`) goes to `sink` once, refreshed tokens are stored as they come, a revoked
   * authorization puts the channel in `error`, and errors become Temporal failures.
   */
  async function platformCall<T>(
    channel: Channel,
    sink: UsageSink,
    keep: (token: PlatformAccessToken | undefined) => Promise<void>,
    call: (options: PlatformCallOptions) => Promise<T>,
  ): Promise<T> {
    const usages: ProviderUsage[] = [];
    try {
      return await call({ signal: ActivityContext.current().cancellationSignal, onUsage: (usage) => usages.push(usage), onFailedCall: sink, onTokenRefreshed: keep });
    } catch (err) {
      if (isProviderError(err) && err.requiresReconnect) await channel.markError(err.message);
      throw toActivityFailure(err);
    } finally {
      for (const usage of usages) await sink(usage);
    }
  }

  async function downloadVideo(videoKey: string, dir: string): Promise<string> {
    const filePath = join(dir, 'video.mp4');
    await db.objects.getToFile(videoKey, filePath, ActivityContext.current().cancellationSignal);
    return filePath;
  }

  /**
   * Adds the captions rendered beside the video (`video/video.vtt`) to its YouTube video as a
   * caption track in the project's language; a video rendered without them is left as it is. The
   * attempt that published the video inserts at once: this step follows the row's `published`, so
   * no earlier attempt reached it. An attempt that found the row published (`checkFirst`) asks
   * YouTube for the video's tracks first, because an earlier one may have added it, even if its
   * answer was lost: a track in that language (not YouTube's automatic one) means it is there.
   * Never fails the publication: a failed call is recorded in `api_usages` with its error, a
   * warning is logged, and the video stays published.
   */
  async function addCaptionTrack(channel: Channel, target: { uploadId: string; contentId: string; videoId: string; captionsKey: string; project: Project }, checkFirst: boolean): Promise<void> {
    const { uploadId, contentId, videoId, captionsKey, project } = target;
    const context = { contentId, uploadId, videoId };
    const usages: ProviderUsage[] = [];
    let failure: string | undefined;
    try {
      let track: Buffer;
      try {
        track = await db.objects.getBuffer(captionsKey);
      } catch (err) {
        if ((err as { name?: unknown }).name === 'NoSuchKey') return;
        throw err;
      }
      const language = project.mediaLanguage();
      const keep = tokenKeeper(channel);
      const options = { signal: ActivityContext.current().cancellationSignal, onUsage: (usage: ProviderUsage) => usages.push(usage) };
      if (checkFirst) {
        reportProgress(100);
        const listed = await clients.youtube.listCaptions(youtubeCredentials(channel), videoId, options);
        await keep(listed.refreshedToken);
        if (listed.tracks.some((t) => t.language === language && t.trackKind !== 'asr')) {
          log.info({ ...context, language }, 'the caption track is already there');
          return;
        }
      }
      reportProgress(100);
      const name = new Intl.DisplayNames([language], { type: 'language' }).of(language) ?? language;
      const inserted = await clients.youtube.insertCaption({ credentials: youtubeCredentials(channel), videoId, language, name, track, contentType: 'text/vtt' }, options);
      await keep(inserted.refreshedToken);
      log.info({ ...context, captionId: inserted.track.id, language }, 'caption track added');
    } catch (err) {
      if (ActivityContext.current().cancellationSignal.aborted) throw err;
      failure = (err instanceof Error ? err.message : String(err)).slice(0, 4000);
      if (isProviderError(err) && err.requiresReconnect) await recordSafely('the channel in error', () => channel.markError(err.message), context);
      log.warn({ ...context, error: failure }, 'the caption track was not added; the video stays published');
    } finally {
      for (const [index, usage] of usages.entries()) await recordUsage(usage, index === usages.length - 1 ? failure : undefined);
    }
  }

  /** Records a metrics call against the channel's owner; it names the content when it read one video. */
  function ownerSink(owner: { user_id: string | null; organization_id: string | null }, contentId: string | null): UsageSink {
    return (usage, error) => db.usage.insert({ user_id: owner.user_id, organization_id: owner.organization_id, content_id: contentId, job_id: null }, usage, error);
  }

  /** content.published, once per upload (its id names the event). */
  async function emitPublished(content: ContentWithProject, upload: ContentUploadRow, platform: Platform): Promise<void> {
    await emitWebhookEvent(ctx, {
      id: `content.published:${upload.id}`,
      type: 'content.published',
      owner: projectOwner(content.project),
      data: { content_id: content.id, project_id: content.project_id, upload_id: upload.id, channel_id: upload.channel_id, platform, url: upload.platform_url, platform_video_id: upload.platform_video_id },
    });
  }

  return {
    /**
     * The video exists: the content becomes ready, and the channels it may go out on are listed:
     * the connected ones of the project's platforms, and those in error, whose publication then
     * fails at once saying why they must be reconnected (unless they are reconnected before it).
     */
    async markReadyForPublishing(input: { contentId: string }): Promise<{ autoPublish: boolean; channels: { channelId: string; platform: Platform }[] }> {
      const content = await loadContent(db, input.contentId);
      const { project } = content;
      await content.update({ status: 'ready' });
      const videoKey = contentMediaKeys({ organizationId: project.organization_id, userId: project.user_id, projectId: project.id }, content.id).video;
      await emitWebhookEvent(ctx, {
        id: runEventId('content.ready', content.id),
        type: 'content.ready',
        owner: projectOwner(project),
        data: {
          content_id: content.id,
          project_id: project.id,
          title: content.title,
          video_duration: content.video_duration === null ? null : Number(content.video_duration),
          video_resolution: content.video_resolution,
          video_url: await db.objects.presignedGetUrl(videoKey, READY_LINK_TTL_SEC),
        },
      });
      const platforms = [...new Set(project.target_platforms.map((t) => PLATFORM_OF_TARGET[t]).filter(Boolean))];
      const channels = await ChannelModel.findAll({
        where: { project_id: project.id, status: { [Op.in]: ['connected', 'error'] }, platform: { [Op.in]: platforms } },
        order: [['created_at', 'ASC']],
      });
      return { autoPublish: project.is_auto_publish, channels: channels.map((c) => ({ channelId: c.id, platform: c.platform })) };
    },

    /**
     * Opens (or, on a retry, finds) the upload row and decides when it goes out: the time the
     * approver chose, else the channel's calendar (upload_settings.schedule_time in its zone). A
     * content goes out once per channel: a row already published is the answer again.
     */
    async preparePublication(input: { contentId: string; channelId: string; scheduledAt?: string; workflowId: string }): Promise<{ uploadId: string; scheduledAt: string | null }> {
      const channel = await loadChannel(input.channelId);
      const settings = channel.upload_settings ?? {};
      let scheduledAt: Date | null = input.scheduledAt ? new Date(input.scheduledAt) : null;
      if (!scheduledAt && settings.schedule_time) {
        scheduledAt = nextLocalTime(new Date(), settings.schedule_time, settings.timezone ?? 'Asia/Seoul');
      }
      const existing = await ContentUpload.findOne({
        where: { content_id: input.contentId, channel_id: input.channelId, status: { [Op.in]: ['pending', 'scheduled', 'uploading', 'published'] } },
        order: [['created_at', 'DESC']],
      });
      const upload =
        existing ??
        (await ContentUpload.create({
          content_id: input.contentId,
          channel_id: input.channelId,
          status: scheduledAt && scheduledAt.getTime() > Date.now() ? 'scheduled' : 'pending',
          scheduled_at: scheduledAt,
          platform_video_id: null,
          platform_url: null,
          published_at: null,
          error_message: null,
        }));
      return { uploadId: upload.id, scheduledAt: upload.scheduled_at ? upload.scheduled_at.toISOString() : null };
    },

    /** Renews the channel's token when the platform's policy says it is due (YouTube and TikTok: about to expire; Instagram: in its last week). */
    async refreshChannelToken(input: { contentId: string; channelId: string }): Promise<{ refreshed: boolean }> {
      const channel = await loadChannel(input.channelId);
      const driver = drivers[channel.platform];
      if (!driver.tokenDue(channel, Date.now())) return { refreshed: false };
      const keep = tokenKeeper(channel);
      const token = await platformCall(channel, recordUsage, keep, (options) => driver.refresh(channel, options));
      await keep(token);
      return { refreshed: true };
    },

    /**
     * Publishes the rendered video on the channel's platform, heartbeating progress. The platform's
     * upload session is sealed into the upload row before any byte goes, so an attempt after a crash
     * (or a later run for the same row) continues that upload, or finds the video it made, instead
     * of publishing again; a row already published answers its video without asking the platform.
     */
    async uploadToChannel(input: { contentId: string; channelId: string; uploadId: string }): Promise<{ uploadId: string; platformVideoId: string; url: string }> {
      const upload = await ContentUpload.findByPk(input.uploadId);
      if (!upload) throw ApplicationFailure.nonRetryable('the upload row is gone', 'ContentNotFound');
      const content = await loadContent(db, input.contentId);
      const { project } = content;
      const scope = currentJob();
      const keys = contentMediaKeys(scope ?? { organizationId: project.organization_id, userId: project.user_id, projectId: content.project_id }, content.id);
      if (upload.status === 'published' && upload.platform_video_id && upload.platform_url) {
        // An earlier attempt published the video and failed after: only its bookkeeping is finished.
        await content.update({ status: 'published', published_at: content.published_at ?? upload.published_at });
        const channel = await ChannelModel.findByPk(input.channelId);
        if (channel) await emitPublished(content, upload, channel.platform);
        if (channel?.platform === 'youtube' && channel.status === 'connected') {
          await addCaptionTrack(channel, { uploadId: upload.id, contentId: content.id, videoId: upload.platform_video_id, captionsKey: keys.captions, project }, true);
        }
        return { uploadId: upload.id, platformVideoId: upload.platform_video_id, url: upload.platform_url };
      }
      const channel = await loadChannel(input.channelId);
      const session = upload.readSession(box);
      await upload.update({ status: 'uploading', error_message: null });

      const videoKey = keys.video;
      const workDir = processWorkDir(ctx.config.media.workDir);
      await mkdir(workDir, { recursive: true });
      const dir = await mkdtemp(join(workDir, `upload-${content.id}-`));
      try {
        let percent = 0;
        const publication: Publication = {
          content,
          project,
          settings: channel.upload_settings ?? {},
          videoKey,
          syntheticMedia: disclosesSyntheticMedia(project, content),
          ...(session ? { session } : {}),
          download: () => downloadVideo(videoKey, dir),
        };
        const keep = tokenKeeper(channel);
        const result = await platformCall(channel, recordUsage, keep, (options) =>
          drivers[channel.platform].upload(channel, publication, {
            ...options,
            onSession: async (value) => {
              upload.setSession(box, value);
              await upload.save();
              reportProgress(percent);
            },
            onProgress: (done, total) => {
              percent = total > 0 ? (done / total) * 100 : 0;
              reportProgress(percent);
            },
          }),
        );
        const now = new Date();
        // First what must never be lost: the video is out, and no later attempt may send it again.
        await upload.update({ status: 'published', platform_video_id: result.videoId, platform_url: result.url, published_at: now, error_message: null, upload_session: null });
        await content.update({ status: 'published', published_at: content.published_at ?? now });
        await emitPublished(content, upload, channel.platform);
        await keep(result.refreshedToken);
        await channel.update({ last_sync_at: now });
        await recordSafely(
          'the upload_completed event',
          () =>
            db.analytics.track(
              'upload_completed',
              { userId: project.user_id, organizationId: project.organization_id, projectId: content.project_id, contentId: content.id },
              { platform: channel.platform, vertical: project.vertical, duration: content.video_duration, platform_video_id: result.videoId },
            ),
          { contentId: content.id, uploadId: upload.id },
        );
        if (channel.platform === 'youtube') {
          await addCaptionTrack(channel, { uploadId: upload.id, contentId: content.id, videoId: result.videoId, captionsKey: keys.captions, project }, false);
        }
        return { uploadId: upload.id, platformVideoId: result.videoId, url: result.url };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async markUploadFailed(input: { uploadId: string; error: string }): Promise<void> {
      const [failed] = await ContentUpload.update({ status: 'failed', error_message: input.error.slice(0, 4000) }, { where: { id: input.uploadId, status: { [Op.ne]: 'published' } } });
      const upload = await ContentUpload.findByPk(input.uploadId);
      if (failed === 0 || !upload) return;
      const content = await loadContent(db, upload.content_id);
      const channel = await ChannelModel.findByPk(upload.channel_id, { attributes: ['id', 'platform'] });
      await emitWebhookEvent(ctx, {
        id: runEventId('upload.failed', upload.id),
        type: 'upload.failed',
        owner: projectOwner(content.project),
        data: { content_id: content.id, project_id: content.project_id, upload_id: upload.id, channel_id: upload.channel_id, platform: channel?.platform ?? null, error: upload.error_message },
      });
    },

    /**
     * Reads the counters of the published uploads whose metrics are due (`metricsRefreshInterval`),
     * at most `limit` of them, channel by channel in the platform's batches, into
     * `content_uploads.metrics`. A channel whose call fails is counted and skipped until the next run.
     */
    async refreshDueMetrics(input: { limit: number }): Promise<{ refreshed: number; failedChannels: number }> {
      const activity = ActivityContext.current();
      const now = new Date();
      const due = await db.uploads.dueForMetrics(now, input.limit, { steps: METRICS_REFRESH_STEPS, oldestEveryMs: METRICS_REFRESH_OLDEST_MS });
      if (due.length === 0) return { refreshed: 0, failedChannels: 0 };
      const byChannel = new Map<string, DueUpload[]>();
      for (const row of due) byChannel.set(row.channel_id, [...(byChannel.get(row.channel_id) ?? []), row]);
      const channels = await ChannelModel.findAll({ where: { id: [...byChannel.keys()], status: 'connected' } });

      let refreshed = 0;
      let failedChannels = 0;
      for (const [index, channel] of channels.entries()) {
        activity.heartbeat({ channels: index, of: channels.length, refreshed });
        const driver = drivers[channel.platform];
        const uploads = byChannel.get(channel.id) ?? [];
        const keep = tokenKeeper(channel);
        try {
          for (let start = 0; start < uploads.length; start += driver.statisticsBatch) {
            const batch = uploads.slice(start, start + driver.statisticsBatch);
            const ids = batch.map((u) => u.platform_video_id).filter((id) => driver.readable(id));
            const owner = batch[0]!;
            const sink = ownerSink(owner, batch.length === 1 ? owner.content_id : null);
            const result = ids.length === 0 ? undefined : await platformCall(channel, sink, keep, (options) => driver.fetchStatistics(channel, ids, options));
            await keep(result?.refreshedToken);
            const counters = new Map((result?.items ?? []).map((item) => [item.videoId, item]));
            const lastUpdated = new Date().toISOString();
            for (const upload of batch) {
              const item = counters.get(upload.platform_video_id);
              // Videos the platform no longer returns keep their counters and wait for their next turn.
              const metrics: UploadMetrics = item
                ? { views: item.views, likes: item.likes, comments: item.comments, ...(item.shares !== undefined ? { shares: item.shares } : {}), last_updated: lastUpdated }
                : { ...upload.metrics, last_updated: lastUpdated };
              await ContentUpload.update({ metrics }, { where: { id: upload.id } });
              if (item) refreshed += 1;
            }
            activity.heartbeat({ channels: index, of: channels.length, refreshed });
          }
        } catch (err) {
          if (activity.cancellationSignal.aborted) throw err;
          failedChannels += 1;
          log.warn({ channelId: channel.id, platform: channel.platform, error: err instanceof Error ? err.message : String(err) }, 'metrics refresh failed for a channel');
        }
      }
      return { refreshed, failedChannels };
    },
  };
}

export type PublishActivities = ReturnType<typeof createPublishActivities>;
