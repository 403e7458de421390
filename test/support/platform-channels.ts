import pino from 'pino';
import type { Platform, UploadSettings } from '../../db/models';
import type { AppContext } from '../../control/app-context';
import { rootLogger } from '../../lib/logger';
import { startFakeInstagram } from '../fakes/instagram-server';
import { startFakeTikTok } from '../fakes/tiktok-server';
import type { PipelineHarness } from './pipeline';

/**
 * What the pipeline suites of TikTok and Instagram share: the two fake platforms with workers
 * whose configuration points at them, channels connected with tokens the tests choose, and every
 * log line, so the suites can prove no token ends up anywhere.
 */

export interface CapturedLogs {
  lines: string[];
  stop(): void;
}

/** Every line the in-process loggers write, to look for tokens. */
export function captureLogs(): CapturedLogs {
  const stream = (rootLogger as unknown as Record<symbol, { write(chunk: string): boolean }>)[pino.symbols.streamSym]!;
  const original = stream.write;
  const lines: string[] = [];
  stream.write = function write(this: unknown, chunk: string): boolean {
    lines.push(String(chunk));
    return original.call(this, chunk);
  };
  return {
    lines,
    stop: () => {
      stream.write = original;
    },
  };
}

export interface ChannelTokens {
  accessToken: string;
  refreshToken?: string;
  expiresAt: Date;
}

export interface PlatformFakes {
  tiktok: Awaited<ReturnType<typeof startFakeTikTok>>;
  instagram: Awaited<ReturnType<typeof startFakeInstagram>>;
  /** The harness's isolated context, configured for the two fakes, that the workers run on. */
  ctx: AppContext;
  logs: CapturedLogs;
  /** Tokens the tests handed to channels themselves (the fakes list the ones they issued). */
  seeded: string[];
  /** Connects a channel of a project with its tokens sealed as the API stores them; the channel's id. */
  connect(channel: { projectId: string; platform: Platform; channelId: string; settings?: UploadSettings }, tokens: ChannelTokens): Promise<string>;
  /** Stops capturing the logs and closes the fakes. */
  close(): Promise<void>;
}

/** Starts the TikTok and Instagram fakes and orchestration workers on a context isolated as `label` that uses them. */
export async function startPlatformFakes(h: PipelineHarness, label: string): Promise<PlatformFakes> {
  const tiktok = await startFakeTikTok();
  const instagram = await startFakeInstagram();
  const logs = captureLogs();
  const isolated = h.isolated(label);
  const ctx: AppContext = {
    ...isolated,
    config: {
      ...isolated.config,
      tiktok: { ...isolated.config.tiktok, clientKey: tiktok.state.clientKey, clientSecret: tiktok.state.clientSecret, apiUrl: tiktok.baseUrl },
      instagram: { ...isolated.config.instagram, graphUrl: instagram.baseUrl, apiVersion: 'v23.0' },
    },
  };
  await h.startWorkers(ctx, ['orchestration']);
  const seeded: string[] = [];
  return {
    tiktok,
    instagram,
    ctx,
    logs,
    seeded,
    async connect({ projectId, platform, channelId, settings }, tokens) {
      const channel = h.ctx.models.Channel.build({
        project_id: projectId,
        platform,
        channel_id: channelId,
        channel_name: `${platform} channel`,
        ...(settings ? { upload_settings: settings } : {}),
      } as never);
      await channel.save();
      channel.setTokens(h.box, tokens);
      await channel.save();
      seeded.push(tokens.accessToken, ...(tokens.refreshToken ? [tokens.refreshToken] : []));
      return channel.id;
    },
    async close() {
      logs.stop();
      await tiktok.close();
      await instagram.close();
    },
  };
}
