import { contentMediaKeys } from '../../activities/media-keys';
import type { ContentJob, ContentUpload } from '../../db/models';
import type { ObjectStore } from '../../db/objects';
import type { ContentRow } from '../../db/repositories/content-reads';
import type { ContentOwner } from '../../db/repositories/contents';

/**
 * What the API shows of contents, their jobs and their uploads: explicit field lists, so a column
 * added later (or a channel's sealed tokens, through an include) is never exposed by accident. A
 * content is a model instance or a plain row of the same columns (db/repositories/content-reads.ts).
 */

/** How long the links to a content's video and thumbnail in an answer stay valid. */
const CONTENT_LINK_TTL_SEC = 3600;

/** A content's video and thumbnail as presigned links, and when they expire; null for what is not rendered. */
export interface ContentLinks {
  video_url: string | null;
  thumbnail_url: string | null;
  links_expire_at: string | null;
}

/**
 * The links to a content's video and thumbnail, from the keys its production writes them at (the
 * stored URLs only say whether they exist: the bucket refuses them without a signature).
 */
export async function contentLinks(objects: ObjectStore, owner: ContentOwner, content: Pick<ContentRow, 'id' | 'video_url' | 'thumbnail_url'>): Promise<ContentLinks> {
  if (!content.video_url && !content.thumbnail_url) return { video_url: null, thumbnail_url: null, links_expire_at: null };
  const keys = contentMediaKeys(owner, content.id);
  // Taken before signing, so the links never expire before the time given.
  const expiresAt = new Date(Date.now() + CONTENT_LINK_TTL_SEC * 1000).toISOString();
  const link = (stored: string | null, key: string) => (stored ? objects.presignedGetUrl(key, CONTENT_LINK_TTL_SEC) : null);
  const [video, thumbnail] = await Promise.all([link(content.video_url, keys.video), link(content.thumbnail_url, keys.thumbnail)]);
  return { video_url: video, thumbnail_url: thumbnail, links_expire_at: expiresAt };
}

export function serializeContent(content: ContentRow, links: ContentLinks) {
  return {
    ...serializeContentSummary(content, links),
    script: content.script,
    media_assets: content.media_assets,
    audio_url: content.audio_url,
    audio_duration: content.audio_duration,
    safety_flags: content.safety_flags,
    source_data: content.source_data,
  };
}

/** The columns of a content the list view shows. */
type ContentSummaryRow = Omit<ContentRow, 'script' | 'media_assets' | 'audio_url' | 'audio_duration' | 'safety_flags' | 'source_data'>;

/** The list view: everything but the large JSON columns (script, media, source data). */
export function serializeContentSummary(content: ContentSummaryRow, links: ContentLinks) {
  return {
    id: content.id,
    project_id: content.project_id,
    title: content.title,
    description: content.description,
    tags: content.tags,
    status: content.status,
    thumbnail_url: links.thumbnail_url,
    video_url: links.video_url,
    links_expire_at: links.links_expire_at,
    video_duration: content.video_duration,
    video_resolution: content.video_resolution,
    safety_score: content.safety_score,
    source_type: content.source_type,
    source_url: content.source_url,
    created_at: content.created_at,
    updated_at: content.updated_at,
    published_at: content.published_at,
  };
}

export function serializeContentJob(job: ContentJob) {
  return {
    id: job.id,
    content_id: job.content_id,
    job_type: job.job_type,
    status: job.status,
    progress: job.progress,
    retry_count: job.retry_count,
    error_message: job.error_message,
    external_job_id: job.external_job_id,
    result: job.result,
    started_at: job.started_at,
    completed_at: job.completed_at,
    created_at: job.created_at,
  };
}

/** An upload with its channel's public identity; `upload.channel` should be loaded (tokens never are). */
export function serializeContentUpload(upload: ContentUpload) {
  return {
    id: upload.id,
    content_id: upload.content_id,
    channel: {
      id: upload.channel_id,
      platform: upload.channel?.platform ?? null,
      name: upload.channel?.channel_name ?? null,
      url: upload.channel?.channel_url ?? null,
    },
    platform_video_id: upload.platform_video_id,
    platform_url: upload.platform_url,
    status: upload.status,
    scheduled_at: upload.scheduled_at,
    published_at: upload.published_at,
    metrics: upload.metrics,
    error_message: upload.error_message,
    created_at: upload.created_at,
    updated_at: upload.updated_at,
  };
}
