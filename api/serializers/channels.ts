import type { Channel } from '../../db/models';

/**
 * What the API shows of a channel. The tokens never leave, not even sealed: a client learns only
 * whether they are there and when the access token expires.
 */
export function serializeChannel(channel: Channel) {
  return {
    id: channel.id,
    project_id: channel.project_id,
    platform: channel.platform,
    channel_id: channel.channel_id,
    channel_name: channel.channel_name,
    channel_url: channel.channel_url,
    status: channel.status,
    status_reason: channel.status_reason ?? null,
    upload_settings: channel.upload_settings,
    has_access_token: channel.access_token != null,
    has_refresh_token: channel.refresh_token != null,
    token_expires_at: channel.token_expires_at,
    last_sync_at: channel.last_sync_at,
    created_at: channel.created_at,
    updated_at: channel.updated_at,
  };
}
