import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fontsDirFromEnv } from '../ffmpeg/fonts';
import { availableEncoders, probe, requireStream, runFfmpeg } from '../ffmpeg/runner';
import type { CallOptions, RenderRequest, RenderResult, Renderer } from '../types';
import { parseLoudnessReport } from './audio-mix';
import { checkRenderRequest, planRender, type PlannedFile, type RenderSettings } from './render-plan';

/** `fontsDir` defaults to the folder AUTOCLIP_FONTS_DIR names. */
export interface FfmpegRendererOptions extends RenderSettings {
  /** Stops a run (SIGINT, then SIGKILL) when it takes longer. */
  timeoutMs?: number;
  killGraceMs?: number;
  ffmpegPath?: string;
  ffprobePath?: string;
}

/** Share of the progress the chunks take (the sound is made beside them); the join and the thumbnail take the rest. */
const CHUNKS_SHARE = 92;

async function writePlanned(file: PlannedFile): Promise<void> {
  await mkdir(dirname(file.path), { recursive: true });
  await writeFile(file.path, file.text, 'utf8');
}

/**
 * Renders a video from its shots (pictures and clips), captions, titles, voice and music with
 * ffmpeg, in chunks of bounded length (so memory does not grow with the video's length) joined
 * without encoding again, and the sound mixed and normalized in two audio passes. Outputs go to
 * `outDir`: video.mp4, thumbnail.jpg and, with captions, video.vtt; the chunks live in `.render`
 * there and are removed.
 */
export class FfmpegRenderer implements Renderer {
  readonly name = 'ffmpeg';

  constructor(private readonly options: FfmpegRendererOptions = {}) {}

  async render(request: RenderRequest, callOptions: CallOptions = {}): Promise<RenderResult> {
    const { signal, onProgress } = callOptions;
    const { ffmpegPath, ffprobePath, timeoutMs, killGraceMs } = this.options;
    const started = Date.now();
    checkRenderRequest(request);
    const voice = await probe(resolve(request.audioPath), { signal, ffprobePath });
    const encoders = await availableEncoders(ffmpegPath);
    const fontsDir = this.options.fontsDir ?? fontsDirFromEnv();
    const plan = planRender(request, { voice, encoders }, { ...this.options, ...(fontsDir ? { fontsDir } : {}) });
    // The sound is measured and mixed beside the chunks: a failure of either stops the other.
    const stop = new AbortController();
    const stopped = signal ? AbortSignal.any([signal, stop.signal]) : stop.signal;
    const run = (args: string[], extra: Parameters<typeof runFfmpeg>[1] = {}) => runFfmpeg(args, { signal: stopped, ffmpegPath, timeoutMs, killGraceMs, ...extra });

    await mkdir(dirname(plan.chunkList.path), { recursive: true });
    try {
      const renderChunks = async () => {
        let framesDone = 0;
        for (const chunk of plan.chunks) {
          for (const file of chunk.files) await writePlanned(file);
          const before = framesDone;
          await run(chunk.video.args, {
            totalDurationSec: chunk.frames / plan.timeline.fps,
            onProgress: (percent) => onProgress?.(Math.floor(((before + (chunk.frames * percent) / 100) / plan.totalFrames) * CHUNKS_SHARE)),
          });
          framesDone += chunk.frames;
        }
      };
      const mixSound = async () => {
        const measure = async (args: string[]) => parseLoudnessReport(await run(args, { logLevel: 'info', stderrLines: 40 }));
        const raw = await measure(plan.measureAudio.args);
        const leveled = await measure(plan.measureLeveled(raw).args);
        await run(plan.mixAudio(raw, leveled).args);
      };
      // The first failure stops the other work, which then fails with that same error as its reason.
      const outcomes = await Promise.allSettled(
        [renderChunks(), mixSound()].map((work) =>
          work.catch((err: unknown) => {
            stop.abort(err);
            throw err;
          }),
        ),
      );
      const failed = outcomes.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
      if (failed) throw failed.reason;
      await writePlanned(plan.chunkList);
      await run(plan.join.args);
      await run(plan.thumbnail.args);
      if (plan.captions) await writePlanned(plan.captions);

      const output = await probe(plan.videoPath, { signal, ffprobePath });
      const video = requireStream(output, 'video');
      const { size } = await stat(plan.videoPath);
      onProgress?.(100);
      return {
        videoPath: plan.videoPath,
        thumbnailPath: plan.thumbnailPath,
        ...(plan.captions ? { captionsPath: plan.captions.path } : {}),
        durationSec: output.durationSec,
        voiceStartSec: plan.timeline.introFrames / request.fps,
        width: video.width ?? request.look.width,
        height: video.height ?? request.look.height,
        sizeBytes: size,
        usage: {
          service: 'ffmpeg',
          operation: 'render',
          inputUnits: Math.round(voice.durationSec * 1000) / 1000,
          outputUnits: plan.totalFrames,
          durationMs: Date.now() - started,
          estimatedCostUsd: 0,
          model: plan.encoding,
        },
      };
    } finally {
      await rm(dirname(plan.chunkList.path), { recursive: true, force: true });
    }
  }
}
