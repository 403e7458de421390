import type { CallOptions, ProviderUsage } from '../types';

/**
 * What the publishing activities need from every platform client (YouTube, TikTok, Instagram):
 * refresh a channel's token, publish a video and read its counters. Credentials and upload requests
 * differ per platform; the options, results and `ProviderError`s are the same, so one activity
 * drives the three.
 */

/** A token after a refresh. TikTok rotates refresh tokens: when `refreshToken` is set, it replaces the stored one at once. */
export interface PlatformAccessToken {
  accessToken: string;
  expiresAt: Date;
  refreshToken?: string;
  refreshExpiresAt?: Date;
}

export interface PlatformCallOptions {
  signal?: AbortSignal;
  /** One record per successful operation (a token refresh, an upload, a metrics call), for `api_usages`. */
  onUsage?: (usage: ProviderUsage) => void;
  /** One record per failed exchange, with its error (see `recordFailedCall`). */
  onFailedCall?: CallOptions['onFailedCall'];
  /**
   * Awaited as soon as a refresh inside a call succeeds, before the call goes on, so the new token
   * is stored even if the rest of the call fails.
   */
  onTokenRefreshed?: (token: PlatformAccessToken) => Promise<void> | void;
}

export interface PlatformUploadOptions extends PlatformCallOptions {
  /** Bytes sent of the file's size, or steps done for platforms that fetch the file themselves; repeated while waiting (heartbeats). */
  onProgress?: (done: number, total: number) => void;
  /**
   * An opaque point the upload can continue from after a crash (YouTube: the resumable session;
   * TikTok: the post and its upload URL; Instagram: the container, then the published media).
   * Awaited before the first byte goes (before Instagram is asked to publish), so the caller can
   * store it durably; the next attempt gives it back in its request.
   */
  onSession?: (session: string) => Promise<void> | void;
}

export interface PlatformUploadResult {
  videoId: string;
  url: string;
  /** Set when the client refreshed the access token, so the caller can store it. */
  refreshedToken?: PlatformAccessToken;
}

export interface PlatformVideoStatistics {
  videoId: string;
  views: number;
  likes: number;
  comments: number;
  /** Absent where the platform does not report shares (YouTube). */
  shares?: number;
}

export interface PlatformClient<Credentials, UploadRequest> {
  refreshAccessToken(credentials: Credentials, options?: PlatformCallOptions): Promise<PlatformAccessToken>;
  upload(request: UploadRequest, options?: PlatformUploadOptions): Promise<PlatformUploadResult>;
  /** Counters of the given videos; videos the platform does not return are left out. */
  fetchStatistics(
    credentials: Credentials,
    videoIds: readonly string[],
    options?: PlatformCallOptions,
  ): Promise<{ items: PlatformVideoStatistics[]; refreshedToken?: PlatformAccessToken }>;
}
