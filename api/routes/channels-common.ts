import { UniqueConstraintError } from 'sequelize';
import type { Channel, ChannelTokens, Platform, Project, UploadSettings } from '../../db/models';
import type { AppContext } from '../../control/app-context';
import type { SecretBox } from '../../lib/secrets';
import { createWithinPlanLimit } from '../limits';

/**
 * What the channel routes share: a new channel stored with its tokens sealed within the owner's
 * plan (the POST with pasted tokens and the consent flow's callback), and a channel the consent flow
 * authorized again.
 */

/** The channel as its platform names it. */
export interface ChannelIdentity {
  platform: Platform;
  channel_id: string;
  channel_name: string | null;
  channel_url: string | null;
}

/**
 * A new channel of the project, its tokens sealed, counted against the owner's max_channels (403
 * plan_limit past it). A channel the project has already fails with the UniqueConstraintError.
 */
export async function createChannel(
  ctx: AppContext,
  box: SecretBox,
  project: Project,
  identity: ChannelIdentity,
  tokens: ChannelTokens,
  uploadSettings: UploadSettings = {},
): Promise<Channel> {
  return createWithinPlanLimit(ctx, project, 'max_channels', async (transaction) => {
    const row = ctx.models.Channel.build({ project_id: project.id, ...identity, token_expires_at: null, upload_settings: uploadSettings, last_sync_at: null });
    row.setTokens(box, tokens);
    return row.save({ transaction });
  });
}

/**
 * Stores the channel a consent flow authorized: the project's row for it, when there is one, takes
 * the new tokens and the platform's current name and is connected again (it counts against no
 * limit); otherwise a new channel is created as `createChannel` does.
 */
export async function connectAuthorizedChannel(
  ctx: AppContext,
  box: SecretBox,
  project: Project,
  identity: ChannelIdentity,
  tokens: ChannelTokens,
): Promise<{ channel: Channel; created: boolean }> {
  const find = () => ctx.models.Channel.findOne({ where: { project_id: project.id, platform: identity.platform, channel_id: identity.channel_id } });
  const reconnect = async (channel: Channel): Promise<{ channel: Channel; created: boolean }> => {
    channel.channel_name = identity.channel_name ?? channel.channel_name;
    channel.channel_url = identity.channel_url ?? channel.channel_url;
    channel.connectWith(box, tokens);
    await channel.save();
    return { channel, created: false };
  };
  const existing = await find();
  if (existing) return reconnect(existing);
  try {
    return { channel: await createChannel(ctx, box, project, identity, tokens), created: true };
  } catch (err) {
    // A second callback for the same channel created it in the meantime.
    const raced = err instanceof UniqueConstraintError ? await find() : null;
    if (!raced) throw err;
    return reconnect(raced);
  }
}
