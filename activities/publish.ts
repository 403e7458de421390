import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { Op } from 'sequelize';
import type { Channel, Platform, TargetPlatform } from '../db/models';
import { trackEvent } from '../lib/analytics';
import type { AppContext } from '../lib/app-context';
import { nextLocalTime } from '../lib/calendar';
import { SecretBox } from '../lib/secrets';
import { isPlatformError } from '../providers/platforms/errors';
import type { YouTubeClient} from '../providers/platforms/youtube';
import { type YouTubePrivacyStatus } from '../providers/platforms/youtube';
import type { ProviderUsage } from '../providers/types';
import { toActivityFailure } from './failures';
import { contentMediaKeys } from './media-keys';
import { currentJob, recordUsage, reportProgress } from './recording';

const PLATFORM_OF_TARGET: Readonly<Record<TargetPlatform, Platform>> = {
  youtube: 'youtube',
  youtube_shorts: 'youtube',
  tiktok: 'tiktok',
  instagram_reels: 'instagram',
};

/** Refresh a token this long before it expires, so an upload never starts with a dying token. */
const TOKEN_REFRESH_MARGIN_MS = 5 * 60_000;

/** Publishing: the upload rows, the channels' tokens and calendars, and the platform uploads. */
export function createPublishActivities(ctx: AppContext, youtube: YouTubeClient) {
  const { Content, Project, Channel: ChannelModel, ContentUpload } = ctx.models;
  const box = SecretBox.fromConfig(ctx.config.secrets);

  async function loadChannel(channelId: string): Promise<Channel> {
    const channel = await ChannelModel.findByPk(channelId);
    if (!channel) throw ApplicationFailure.nonRetryable(`channel ${channelId} does not exist`, 'ChannelNotFound');
    if (channel.status !== 'connected') throw ApplicationFailure.nonRetryable(`channel ${channelId} is ${channel.status}`, 'ChannelNotConnected');
    return channel;
  }

  function youtubeCredentials(channel: Channel) {
    const { clientId, clientSecret } = ctx.config.youtube;
    const refreshToken = channel.readRefreshToken(box);
    const accessToken = channel.readAccessToken(box);
    return {
      clientId: clientId ?? '',
      clientSecret: clientSecret ?? '',
      refreshToken: refreshToken ?? '',
      ...(accessToken ? { accessToken } : {}),
      ...(channel.token_expires_at ? { expiresAt: channel.token_expires_at } : {}),
    };
  }

  /** Runs a platform call, records each of its provider calls, and maps its errors to Temporal failures. */
  async function platformCall<T>(channel: Channel, call: (onUsage: (u: ProviderUsage) => void) => Promise<T>): Promise<T> {
    const usages: ProviderUsage[] = [];
    try {
      return await call((u) => usages.push(u));
    } catch (err) {
      if (isPlatformError(err) && err.requiresReconnect) await channel.update({ status: 'error' });
      throw toActivityFailure(err);
    } finally {
      for (const usage of usages) await recordUsage(usage);
    }
  }

  return {
    /** The video exists: the content becomes ready, and the channels it may go out on are listed. */
    async markReadyForPublishing(input: { contentId: string }): Promise<{ autoPublish: boolean; channels: { channelId: string; platform: Platform }[] }> {
      const content = await Content.findByPk(input.contentId, { include: [{ model: Project, as: 'project' }] });
      const project = content?.project;
      if (!content || !project) throw ApplicationFailure.nonRetryable(`content ${input.contentId} does not exist`, 'ContentNotFound');
      await content.update({ status: 'ready' });
      const platforms = [...new Set(project.target_platforms.map((t) => PLATFORM_OF_TARGET[t]).filter(Boolean))];
      const channels = await ChannelModel.findAll({
        where: { project_id: project.id, status: 'connected', platform: { [Op.in]: platforms } },
        order: [['created_at', 'ASC']],
      });
      return { autoPublish: project.is_auto_publish, channels: channels.map((c) => ({ channelId: c.id, platform: c.platform })) };
    },

    /**
     * Opens (or, on a retry, finds) the upload row and decides when it goes out: the time the
     * approver chose, else the channel's calendar (upload_settings.schedule_time in its zone).
     */
    async preparePublication(input: { contentId: string; channelId: string; scheduledAt?: string; workflowId: string }): Promise<{ uploadId: string; scheduledAt: string | null }> {
      const channel = await loadChannel(input.channelId);
      const settings = channel.upload_settings ?? {};
      let scheduledAt: Date | null = input.scheduledAt ? new Date(input.scheduledAt) : null;
      if (!scheduledAt && settings.schedule_time) {
        scheduledAt = nextLocalTime(new Date(), settings.schedule_time, settings.timezone ?? 'Asia/Seoul');
      }
      const open = await ContentUpload.findOne({
        where: { content_id: input.contentId, channel_id: input.channelId, status: { [Op.in]: ['pending', 'scheduled', 'uploading'] } },
        order: [['created_at', 'DESC']],
      });
      const upload =
        open ??
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

    async refreshChannelToken(input: { contentId: string; channelId: string }): Promise<{ refreshed: boolean }> {
      const channel = await loadChannel(input.channelId);
      const expiresAt = channel.token_expires_at?.getTime();
      if (expiresAt !== undefined && expiresAt - Date.now() > TOKEN_REFRESH_MARGIN_MS && channel.access_token) return { refreshed: false };
      if (channel.platform !== 'youtube') throw ApplicationFailure.nonRetryable(`publishing to ${channel.platform} is not available yet`, 'PlatformUnsupported');
      const credentials = youtubeCredentials(channel);
      if (!credentials.refreshToken) throw ApplicationFailure.nonRetryable('the channel has no refresh token: reconnect it', 'auth_revoked');
      const token = await platformCall(channel, (onUsage) => youtube.refreshAccessToken(credentials, { onUsage, signal: ActivityContext.current().cancellationSignal }));
      channel.setTokens(box, { accessToken: token.accessToken, expiresAt: token.expiresAt });
      await channel.save();
      return { refreshed: true };
    },

    async uploadToChannel(input: { contentId: string; channelId: string; uploadId: string }): Promise<{ uploadId: string; platformVideoId: string; url: string }> {
      const activity = ActivityContext.current();
      const channel = await loadChannel(input.channelId);
      if (channel.platform !== 'youtube') throw ApplicationFailure.nonRetryable(`publishing to ${channel.platform} is not available yet`, 'PlatformUnsupported');
      const content = await Content.findByPk(input.contentId, { include: [{ model: Project, as: 'project' }] });
      const upload = await ContentUpload.findByPk(input.uploadId);
      const project = content?.project;
      if (!content || !project || !upload) throw ApplicationFailure.nonRetryable('the content or its upload row is gone', 'ContentNotFound');
      await upload.update({ status: 'uploading', error_message: null });

      const scope = currentJob();
      const videoKey = contentMediaKeys(scope ?? { organizationId: project.organization_id, userId: project.user_id, projectId: content.project_id }, content.id).video;
      await mkdir(ctx.config.media.workDir, { recursive: true });
      const dir = await mkdtemp(join(ctx.config.media.workDir, `upload-${content.id}-`));
      try {
        const filePath = join(dir, 'video.mp4');
        const object = await ctx.store.client.send(new GetObjectCommand({ Bucket: ctx.store.bucket, Key: videoKey }));
        await pipeline(object.Body as Readable, createWriteStream(filePath));
        const settings = channel.upload_settings ?? {};
        let sessionUri = (activity.info.heartbeatDetails as { sessionUri?: string } | undefined)?.sessionUri;
        const result = await platformCall(channel, (onUsage) =>
          youtube.upload(
            {
              credentials: youtubeCredentials(channel),
              filePath,
              metadata: {
                title: content.title,
                description: content.description ?? '',
                tags: content.tags ?? [],
                privacyStatus: (settings.default_visibility ?? 'private') as YouTubePrivacyStatus,
                madeForKids: settings.made_for_kids ?? false,
                language: project.language,
              },
              urlStyle: project.content_format === 'short' ? 'shorts' : 'watch',
              ...(sessionUri ? { sessionUri } : {}),
            },
            {
              signal: activity.cancellationSignal,
              onUsage,
              onSession: (uri) => {
                sessionUri = uri;
                reportProgress(0, { sessionUri });
              },
              onProgress: (sent, total) => reportProgress((sent / total) * 100, { sessionUri }),
            },
          ),
        );
        if (result.refreshedToken) {
          channel.setTokens(box, { accessToken: result.refreshedToken.accessToken, expiresAt: result.refreshedToken.expiresAt });
          await channel.save();
        }
        const now = new Date();
        await upload.update({ status: 'published', platform_video_id: result.videoId, platform_url: result.url, published_at: now, error_message: null });
        await content.update({ status: 'published', published_at: content.published_at ?? now });
        await channel.update({ last_sync_at: now });
        await trackEvent(
          'upload_completed',
          { userId: project.user_id, organizationId: project.organization_id, projectId: content.project_id, contentId: content.id },
          { platform: channel.platform, vertical: project.vertical, duration: content.video_duration, platform_video_id: result.videoId },
        );
        return { uploadId: upload.id, platformVideoId: result.videoId, url: result.url };
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    },

    async markUploadFailed(input: { uploadId: string; error: string }): Promise<void> {
      await ContentUpload.update({ status: 'failed', error_message: input.error.slice(0, 4000) }, { where: { id: input.uploadId, status: { [Op.ne]: 'published' } } });
    },
  };
}

export type PublishActivities = ReturnType<typeof createPublishActivities>;
