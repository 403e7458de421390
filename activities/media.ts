import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { Context as ActivityContext } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { stepRequestOf, type Content, type MediaAsset, type MediaAssetSource, type PlanFeatures, type Project, type Resolution, type Template, type TemplateData } from '../db/models';
import type { ContentWithProject } from '../db/repositories/contents';
import type { Branding } from '../db/repositories/plans';
import type { AppContext } from '../control/app-context';
import type { Providers } from '../providers';
import { captionCues, spokenWords, toAss, toSrt, toWebVtt, type SpokenWord } from '../providers/captions';
import { probe } from '../providers/ffmpeg/runner';
import type { CallOptions, EngineReport, Language, ProviderUsage, SceneImage, SubtitleCue, TemplateLook } from '../providers/types';
import { guardContentCost } from './costs';
import { loadContent } from './scope';
import { cancellationFailure, toActivityFailure } from './failures';
import { contentMediaKeys, DEFAULT_MUSIC_VOLUME, inputsHash, organizationLogoPrefix } from './media-keys';
import { projectProviderOrders, ProvidersFor } from './providers-for';
import { currentJob, noteEngine, providerCallOptions, recordUsage, reportProgress, resumableExternalJob } from './recording';
import { captionStyleOf, frameOf, planLookOf, renderDesignOf, shotsPerScene, templateFor } from './templates';
import { processWorkDir } from './work-folders';
import { moduleLogger } from '../lib/logger';

const log = moduleLogger('media');

export interface SpeechOutput {
  audioKey: string;
  manifestKey: string;
  durationSec: number;
}

export interface ImagesOutput {
  imageKeys: string[];
  /** Where each scene's picture came from, 'user' for the creator's own (absent in runs recorded before it was kept). */
  sources?: SceneSource[];
  /** Whether each scene's media is a picture or a clip (absent in runs recorded before clips: pictures). */
  kinds?: ('image' | 'video')[];
}

/** A captions step's files. */
export interface CaptionsOutput {
  srtKey: string;
  vttKey: string;
  assKey: string;
  cues: number;
}

export interface RenderOutput {
  videoKey: string;
  thumbnailKey: string;
  /** The captions as WebVTT, when the video has captions (absent in runs recorded before they were kept). */
  captionsKey?: string;
  durationSec: number;
}

export interface SpeechManifest {
  durationSec: number;
  segments: { startSec: number; endSec: number }[];
  cues: SubtitleCue[];
  /** Absent in speech recorded before words were kept. */
  words?: SpokenWord[];
}

/** The scene images as made, with the credits their description owes the photographers. */
interface MadeImages {
  images: ImagesOutput;
  credits: string[];
}

/** A render as made: its output, and what the content row shows of it. */
interface Rendered {
  video: RenderOutput;
  /** Where the first scene starts in the video (absent in runs recorded before intros: 0). */
  voiceStartSec?: number;
  resolution: Resolution;
  renderer: string;
}

type RecordedEffect = 'usage' | 'event';

/**
 * A finished expensive step, recorded in S3 once its outputs are there (media-keys.ts): a retry,
 * or a production of the same inputs, takes `output` from it instead of doing the work again, and
 * records only the side effects that no earlier attempt recorded (`recorded`).
 */
interface FinishedStep<T> {
  inputsHash: string;
  output: T;
  /** The provider call that made the outputs, for its one `api_usages` row; absent when no provider was called. */
  usage?: ProviderUsage;
  /** Which provider of the step's ordered list made the outputs; absent when the step has one provider. */
  engine?: EngineReport;
  recorded: RecordedEffect[];
}

/** What a step's work made: its output, the provider call and the provider of an ordered list that made it. */
interface Made<T> {
  output: T;
  usage?: ProviderUsage;
  engine?: EngineReport;
}

interface StepWork {
  /** The activity's own work folder. */
  dir: string;
  /** The activity's cancellation, its progress as heartbeats, its failed calls recorded. */
  callOptions: CallOptions;
}

const RENDER_FPS = 30;

/** How often a media activity heartbeats when its work reports no progress. */
const HEARTBEAT_INTERVAL_MS = 1000;

/** The scenes of a script, in speaking order: the hook, each body section, the call to action. */
export function scriptScenes(script: Content['script']): string[] {
  return [script.hook, ...script.body, script.cta].map((s) => s.trim()).filter((s) => s.length > 0);
}

type SceneSource = SceneImage['source'] | 'user';

/** A scene's search from the script, as the picture providers' keywords. */
function searchOf(search: string | undefined): string[] | undefined {
  return search ? [search] : undefined;
}

/** `media_assets.source` (seed §3.4.1) of a scene picture: AI pictures are generated too. */
const MEDIA_SOURCE: Readonly<Record<SceneSource, MediaAssetSource>> = { generated: 'generated', ai: 'generated', stock: 'stock', user: 'user' };

/** The creator's own media of a content (`media_assets` with source 'user' and a key, api/routes/contents-media.ts). */
function userMediaOf(assets: readonly MediaAsset[] | null | undefined): { scenes: Map<number, MediaAsset & { key: string }>; music?: MediaAsset & { key: string } } {
  const own = (assets ?? []).filter((asset): asset is MediaAsset & { key: string } => asset.source === 'user' && typeof asset.key === 'string');
  const scenes = new Map(own.filter((asset) => asset.type !== 'audio' && asset.scene !== undefined).map((asset) => [asset.scene!, asset] as const));
  const music = own.find((asset) => asset.type === 'audio' && asset.scene === undefined);
  return { scenes, ...(music ? { music } : {}) };
}

/**
 * The music under a content's voice: its own track, else its project's (`style_preset.music_key`
 * and `music_volume`), else none.
 */
function musicOf(content: Content, project: Project): { key: string; volume: number } | undefined {
  const own = userMediaOf(content.media_assets).music;
  if (own) return { key: own.key, volume: own.volume ?? DEFAULT_MUSIC_VOLUME };
  const key = project.style_preset?.music_key;
  if (typeof key !== 'string' || key === '') return undefined;
  const volume = project.style_preset?.music_volume;
  return { key, volume: typeof volume === 'number' && volume >= 0 && volume <= 1 ? volume : DEFAULT_MUSIC_VOLUME };
}

/**
 * A project's own voice (style_preset.voice: an ElevenLabs voice id or an espeak-ng voice), or the
 * one a speech step asked for, over the deployment's, on plans with `custom_voices`. The API refuses
 * the voice on other plans; one set before the owner's plan lost the feature is ignored (with a
 * warning), so the video speaks with the deployment's voice instead of failing.
 */
function voiceOf(content: ContentWithProject, features: PlanFeatures): { voice?: string } {
  const { project } = content;
  const voice = stepRequestOf(content)?.voice ?? project.style_preset?.voice;
  if (typeof voice !== 'string' || voice.trim() === '') return {};
  if (!features.custom_voices) {
    log.warn({ projectId: project.id, voice }, "the project's own voice is ignored: its owner's plan no longer includes custom_voices");
    return {};
  }
  return { voice: voice.trim() };
}

/** The language a content is spoken, captioned and shown in: a single step's own, else its project's. */
function languageOf(content: ContentWithProject): Language {
  return stepRequestOf(content)?.language ?? content.project.mediaLanguage();
}

/**
 * The heavy activities (speech, images, render) run on their own task queue. Inputs and outputs are
 * S3 keys; each activity works in a private temporary folder that it removes when done, and finds
 * its outputs in S3 when an earlier attempt already made them.
 */
export function createMediaActivities(ctx: AppContext, platformProviders: Providers, workRoot: string, providersFor = ProvidersFor.fixed(platformProviders, ctx.config)) {
  const { db } = ctx;
  async function lookFor(project: Project): Promise<TemplateLook> {
    const plan = await planLookOf(db, project);
    return lookOf((await templateFor(db, project, plan.features)).template_data, plan.branding);
  }

  /**
   * The render's look: the template's frame, font and colours; with `white_label` (branding given),
   * the organization's brand colours replace the template's primary and secondary ones (its logo:
   * `logoKeyOf`).
   */
  function lookOf(data: TemplateData, branding: Branding | null = null): TemplateLook {
    const colors = { ...data.colors, ...(branding?.colors.primary ? { primary: branding.colors.primary } : {}), ...(branding?.colors.secondary ? { secondary: branding.colors.secondary } : {}) };
    return { ...frameOf(data.resolution), colors, font: data.fonts[0] ?? 'Noto Sans CJK KR' };
  }

  /**
   * One more use of the template, once per production run: the render job's row of the run marks
   * it, so a retried attempt (or one whose completion was lost) does not count again. A failure
   * here is logged, not thrown: the video is made, and a retry would render it again for a counter.
   */
  async function countTemplateUse(template: Template, contentId: string): Promise<void> {
    const jobId = currentJob()?.jobId;
    if (!jobId) {
      log.warn({ contentId, templateId: template.id }, 'template use not counted: the render runs outside a recorded job');
      return;
    }
    try {
      await db.plans.countTemplateUseOnce(template.id, jobId);
    } catch (err) {
      log.warn({ err, contentId, templateId: template.id }, 'template use not counted');
    }
  }

  /**
   * The organization's logo a white-label render draws: the picture its logo_url names when that is
   * an upload of the organization's logo folder (POST /organizations/:id/logo). Any other URL is
   * shown by the API but not fetched by the workers.
   */
  function logoKeyOf(branding: Branding | null, organizationId: string | null): string | undefined {
    if (!branding?.logoUrl || !organizationId) return undefined;
    const prefix = organizationLogoPrefix(organizationId);
    const base = db.objects.urlFor(prefix);
    if (!branding.logoUrl.startsWith(base)) return undefined;
    const name = decodeURIComponent(branding.logoUrl.slice(base.length));
    return /^[0-9a-f-]{36}\.(png|jpg|webp)$/.test(name) ? `${prefix}${name}` : undefined;
  }

  function keysFor(contentId: string) {
    const scope = currentJob();
    if (!scope) throw new Error('media activities run inside a recorded content job');
    return contentMediaKeys(scope, contentId);
  }

  /**
   * Runs a media activity in its own work folder, removed when it ends. It heartbeats its last
   * progress whenever a second passes without any (downloads, loudness passes, uploads report
   * none): a short heartbeat timeout is never missed, and a cancellation, which reaches an activity
   * only in the answer to a heartbeat, stops its process at once. A provider's error becomes the
   * failure the retry policy needs; once cancelled, the activity ends cancelled.
   */
  async function mediaStep<T>(label: string, body: (work: StepWork) => Promise<T>): Promise<T> {
    const { cancellationSignal } = ActivityContext.current();
    const root = processWorkDir(workRoot);
    await mkdir(root, { recursive: true });
    const dir = await mkdtemp(join(root, `${label}-`));
    let percent = 0;
    let reportedAt = 0;
    const report = (progress: number): void => {
      percent = progress;
      reportedAt = Date.now();
      reportProgress(progress);
    };
    report(0);
    const heartbeats = setInterval(() => {
      if (Date.now() - reportedAt >= HEARTBEAT_INTERVAL_MS) report(percent);
    }, HEARTBEAT_INTERVAL_MS / 4);
    try {
      return await body({ dir, callOptions: { ...providerCallOptions(), onProgress: report } });
    } catch (err) {
      throw cancellationSignal.aborted ? cancellationFailure(cancellationSignal) : toActivityFailure(err);
    } finally {
      clearInterval(heartbeats);
      await rm(dir, { recursive: true, force: true });
    }
  }

  /** The step recorded as finished at `key` for the inputs hashing to `hash`, if there is one. */
  async function finishedStep<T>(key: string, hash: string): Promise<FinishedStep<T> | undefined> {
    let recorded: Partial<FinishedStep<T>>;
    try {
      recorded = JSON.parse((await db.objects.getBuffer(key)).toString('utf8')) as Partial<FinishedStep<T>>;
    } catch (err) {
      if (err instanceof Error && err.name === 'NoSuchKey') return undefined;
      throw err;
    }
    return recorded.inputsHash === hash && recorded.output !== undefined ? (recorded as FinishedStep<T>) : undefined;
  }

  async function saveStep<T>(key: string, step: FinishedStep<T>): Promise<void> {
    await db.objects.put(key, JSON.stringify(step), 'application/json');
  }

  /** Records a side effect of a finished step unless an earlier attempt did. */
  async function recordOnce<T>(key: string, step: FinishedStep<T>, effect: RecordedEffect, record: () => Promise<void>): Promise<void> {
    if (step.recorded.includes(effect)) return;
    await record();
    step.recorded.push(effect);
    await saveStep(key, step);
  }

  /**
   * The step finished for the inputs hashing to `hash`: found at `key`, or made by `make` (which
   * uploads its outputs) and recorded there before anything else is written, so a made output is
   * never made, nor paid for, again. Its provider call, when it made one, gets its one `api_usages`
   * row. With an ordered list of providers the hash names the list, not the provider that ends up
   * making the output: the record keeps that one, and the job row shows it on every attempt, so a
   * retry after a fallback takes what the fallback made instead of asking the failed providers again.
   */
  async function findOrMake<T>(key: string, hash: string, callOptions: CallOptions, make: (options: CallOptions) => Promise<Made<T>>): Promise<FinishedStep<T>> {
    const found = await finishedStep<T>(key, hash);
    const made: { engine?: EngineReport } = {};
    const options: CallOptions = { ...callOptions, onEngine: (report) => (made.engine = report) };
    const step = found ?? { inputsHash: hash, ...(await make(options)), ...(made.engine ? { engine: made.engine } : {}), recorded: [] };
    if (!found) await saveStep(key, step);
    if (step.engine) noteEngine(step.engine);
    await recordOnce(key, step, 'usage', async () => {
      if (step.usage) await recordUsage(step.usage);
    });
    return step;
  }

  async function readManifest(key: string): Promise<SpeechManifest> {
    return JSON.parse((await db.objects.getBuffer(key)).toString('utf8')) as SpeechManifest;
  }

  async function download(key: string, path: string, signal?: AbortSignal): Promise<string> {
    await db.objects.getToFile(key, path, signal);
    return path;
  }

  /** Downloads one of the creator's uploads; one that is gone fails the production at once. */
  async function downloadUpload(key: string, path: string, what: string, signal?: AbortSignal): Promise<string> {
    try {
      return await download(key, path, signal);
    } catch (err) {
      if (err instanceof Error && err.name === 'NoSuchKey') throw ApplicationFailure.nonRetryable(`the creator's ${what} (${key}) is no longer in the bucket`, 'UserMediaMissing');
      throw err;
    }
  }

  return {
    async synthesizeSpeech(input: { contentId: string }): Promise<SpeechOutput> {
      return mediaStep(`tts-${input.contentId}`, async ({ dir, callOptions }) => {
        const content = await loadContent(db, input.contentId);
        const segments = scriptScenes(content.script);
        const { features } = await db.plans.featuresOf(content.project);
        const orders = projectProviderOrders(ctx.config, content.project);
        const providers = await providersFor.current(orders);
        const request = { language: languageOf(content), segments, ...voiceOf(content, features) };
        const hash = inputsHash({ ...request, engine: providers.speech.name });
        const keys = keysFor(content.id).speech(hash);
        const step = await findOrMake<SpeechOutput>(keys.record, hash, callOptions, async (options) => {
          await guardContentCost(ctx, content.id, 'speech', { characters: segments.join(' ').length }, orders);
          const result = await providers.speech.synthesize({ ...request, outDir: dir }, options);
          await db.objects.putFile(keys.audio, result.audioPath, 'audio/mp4');
          const manifest: SpeechManifest = { durationSec: result.durationSec, segments: result.segments, cues: result.cues, words: result.words };
          await db.objects.put(keys.manifest, JSON.stringify(manifest), 'application/json');
          return { output: { audioKey: keys.audio, manifestKey: keys.manifest, durationSec: result.durationSec }, usage: result.usage };
        });
        await content.update({ audio_url: db.objects.urlFor(step.output.audioKey), audio_duration: Math.round(step.output.durationSec * 100) / 100 });
        return step.output;
      });
    },

    async createSceneImages(input: { contentId: string }): Promise<ImagesOutput> {
      return mediaStep(`images-${input.contentId}`, async ({ dir, callOptions }) => {
        const content = await loadContent(db, input.contentId);
        const look = await lookFor(content.project);
        const language = languageOf(content);
        const scenes = scriptScenes(content.script).map((text, index) => ({ index, text, keywords: searchOf(content.script.search_terms?.[index]) ?? content.tags ?? [] }));
        const orders = projectProviderOrders(ctx.config, content.project);
        const providers = await providersFor.current(orders);
        // The creator's own pictures and clips fill their scenes; the provider makes the others.
        const own = userMediaOf(content.media_assets).scenes;
        const ownUsed = scenes.filter((scene) => own.has(scene.index)).map((scene) => ({ scene: scene.index, key: own.get(scene.index)!.key, type: own.get(scene.index)!.type }));
        const unused = [...own.keys()].filter((index) => index >= scenes.length);
        if (unused.length > 0) log.warn({ contentId: content.id, scenes: unused }, "the creator's media for scenes the script does not have are not used");
        const toMake = scenes.filter((scene) => !own.has(scene.index));
        const hash = inputsHash({ language, look, scenes, engine: providers.images.name, ...(ownUsed.length > 0 ? { userMedia: ownUsed } : {}) });
        const keys = keysFor(content.id).images(hash);
        const step = await findOrMake<MadeImages>(keys.record, hash, callOptions, async (options) => {
          let made: SceneImage[] = [];
          let usage: ProviderUsage | undefined;
          if (toMake.length > 0) {
            await guardContentCost(ctx, content.id, 'images', { scenes: toMake.length }, orders);
            ({ images: made, usage } = await providers.images.createSceneImages({ language, look, scenes: toMake, outDir: dir }, options));
          }
          const ordered = [...made].sort((a, b) => a.index - b.index);
          const madeKeys = new Map<number, string>();
          for (const image of ordered) {
            const clip = image.kind === 'video';
            const key = clip ? keys.clip(image.index) : keys.scene(image.index);
            await db.objects.putFile(key, image.path, clip ? 'video/mp4' : 'image/png');
            madeKeys.set(image.index, key);
          }
          const merged = [
            ...ordered.map((image) => ({ index: image.index, key: madeKeys.get(image.index)!, source: image.source as SceneSource, kind: image.kind ?? 'image' })),
            ...ownUsed.map((media) => ({ index: media.scene, key: media.key, source: 'user' as const, kind: media.type === 'video' ? ('video' as const) : ('image' as const) })),
          ].sort((a, b) => a.index - b.index);
          const credits = [...new Set(ordered.map((image) => image.credit).filter((credit): credit is string => Boolean(credit)))];
          const images = { imageKeys: merged.map((scene) => scene.key), sources: merged.map((scene) => scene.source), kinds: merged.map((scene) => scene.kind) };
          return { output: { images, credits }, ...(usage ? { usage } : {}) };
        });
        const { images, credits } = step.output;
        const description = content.description ?? '';
        const missing = credits.filter((credit) => !description.includes(credit));
        if (missing.length > 0) await content.update({ description: [description, missing.join('\n')].filter(Boolean).join('\n\n').slice(0, 5000) });
        return images;
      });
    },

    async renderVideo(input: { contentId: string; speech: SpeechOutput; images: ImagesOutput }): Promise<RenderOutput> {
      return mediaStep(`render-${input.contentId}`, async ({ dir, callOptions }) => {
        const content = await loadContent(db, input.contentId);
        const keys = keysFor(content.id);
        const plan = await planLookOf(db, content.project);
        const templateRow = await templateFor(db, content.project, plan.features);
        const template = templateRow.template_data;
        const look = lookOf(template, plan.branding);
        const manifest = await readManifest(input.speech.manifestKey);
        if (manifest.segments.length !== input.images.imageKeys.length) {
          throw ApplicationFailure.nonRetryable(
            `speech has ${manifest.segments.length} scenes but ${input.images.imageKeys.length} images were made`,
            'SceneMismatch',
          );
        }
        const orders = projectProviderOrders(ctx.config, content.project);
        const providers = await providersFor.current(orders);
        const remoteTemplateId = template.creatomate_template_id;
        const language = languageOf(content);
        const design = renderDesignOf(template, look, language, { title: content.title, cta: content.script.cta }, manifest);
        const music = musicOf(content, content.project);
        const logoKey = logoKeyOf(plan.branding, content.project.organization_id);
        const shotCounts = manifest.segments.map((segment, i) => shotsPerScene(template, input.images.kinds?.[i] ?? 'image', segment.endSec - segment.startSec));
        const hash = inputsHash({
          audioKey: input.speech.audioKey,
          shotCounts,
          imageKeys: input.images.imageKeys,
          segments: manifest.segments,
          look,
          language,
          design,
          fps: RENDER_FPS,
          remoteTemplateId,
          engine: providers.renderer.name,
          music,
          logoKey,
        });
        const step = await findOrMake<Rendered>(keys.renderRecord, hash, callOptions, async (options) => {
          await guardContentCost(ctx, content.id, 'render', { durationSec: input.speech.durationSec, width: look.width, height: look.height }, orders);
          const audioPath = await download(input.speech.audioKey, join(dir, 'voice.m4a'), callOptions.signal);
          const scenes = await Promise.all(
            input.images.imageKeys.map(async (key, i) => {
              const kind = input.images.kinds?.[i] ?? 'image';
              const path = join(dir, `scene-${i}${extname(key)}`);
              const own = input.images.sources?.[i] === 'user';
              const shot = { path: await (own ? downloadUpload(key, path, `media of scene ${i}`, callOptions.signal) : download(key, path, callOptions.signal)), kind };
              return {
                shots: Array.from({ length: shotCounts[i] ?? 1 }, () => shot),
                startSec: manifest.segments[i]!.startSec,
                endSec: manifest.segments[i]!.endSec,
              };
            }),
          );
          const musicPath = music ? await downloadUpload(music.key, join(dir, `music${extname(music.key)}`), 'music track', callOptions.signal) : undefined;
          const logoPath = logoKey ? await downloadUpload(logoKey, join(dir, `logo${extname(logoKey)}`), "organization's logo", callOptions.signal) : undefined;
          const resume = resumableExternalJob();
          const result = await providers.renderer.render(
            {
              look,
              fps: RENDER_FPS,
              language,
              scenes,
              audioPath,
              design,
              outDir: dir,
              ...(music && musicPath ? { music: { path: musicPath, volume: music.volume } } : {}),
              ...(logoPath ? { logo: { path: logoPath } } : {}),
              ...(resume ? { resumeExternalJobId: resume } : {}),
              ...(remoteTemplateId ? { remoteTemplateId } : {}),
            },
            options,
          );
          // The video's keys are overwritten next: until the new record, no record describes what they hold.
          await db.objects.put(keys.renderRecord, JSON.stringify({ inputsHash: hash }), 'application/json');
          await db.objects.putFile(keys.video, result.videoPath, 'video/mp4');
          await db.objects.putFile(keys.thumbnail, result.thumbnailPath, 'image/jpeg');
          if (result.captionsPath) await db.objects.putFile(keys.captions, result.captionsPath, 'text/vtt');
          return {
            output: {
              video: {
                videoKey: keys.video,
                thumbnailKey: keys.thumbnail,
                ...(result.captionsPath ? { captionsKey: keys.captions } : {}),
                durationSec: result.durationSec,
              },
              voiceStartSec: result.voiceStartSec,
              resolution: `${result.width}x${result.height}`,
              renderer: providers.renderer.name,
            },
            usage: result.usage,
          };
        });
        const { video, resolution, renderer, voiceStartSec = 0 } = step.output;
        // One entry per spoken scene, the creator's own marked 'user' with their key and scene so
        // that the next production finds them again, then the content's own music track.
        const ownMusic = userMediaOf(content.media_assets).music;
        const mediaAssets: MediaAsset[] = manifest.segments.map((segment, i) => {
          const key = input.images.imageKeys[i]!;
          const source = input.images.sources?.[i] ?? 'generated';
          return {
            type: input.images.kinds?.[i] ?? 'image',
            url: db.objects.urlFor(key),
            source: MEDIA_SOURCE[source],
            timestamp: Math.round((voiceStartSec + segment.startSec) * 100) / 100,
            duration: Math.round((segment.endSec - segment.startSec) * 100) / 100,
            ...(source === 'user' ? { key, scene: i } : {}),
          };
        });
        if (ownMusic) mediaAssets.push({ ...ownMusic, timestamp: 0, duration: Math.round(video.durationSec * 100) / 100 });
        await content.update({
          video_url: db.objects.urlFor(video.videoKey),
          thumbnail_url: db.objects.urlFor(video.thumbnailKey),
          video_duration: Math.round(video.durationSec * 100) / 100,
          video_resolution: resolution,
          media_assets: mediaAssets,
        });
        const scope = currentJob();
        await recordOnce(keys.renderRecord, step, 'event', () =>
          db.analytics.track(
            'video_rendered',
            { userId: scope?.userId, organizationId: scope?.organizationId, projectId: content.project_id, contentId: content.id },
            { vertical: content.project.vertical, duration: video.durationSec, resolution, renderer: step.engine?.provider ?? renderer },
          ),
        );
        await countTemplateUse(templateRow, content.id);
        return video;
      });
    },

    /**
     * The voice of a render step made from an audio upload: its length measured, and a speech
     * manifest timing the scenes by the lengths the request gave (the last one lasts until the
     * voice ends). It has no words, so the video has no captions. An upload gone from the bucket,
     * one without sound, or scenes that start after the voice ends fail the step at once.
     */
    async measureUploadedVoice(input: { contentId: string; audioKey: string }): Promise<SpeechOutput> {
      return mediaStep(`voice-${input.contentId}`, async ({ dir, callOptions }) => {
        const content = await loadContent(db, input.contentId);
        const lengths = stepRequestOf(content)?.scene_durations ?? [];
        const path = await downloadUpload(input.audioKey, join(dir, `voice${extname(input.audioKey)}`), 'voice', callOptions.signal);
        const info = await probe(path, { signal: callOptions.signal }).catch(() => undefined);
        const durationSec = info?.streams.some((stream) => stream.type === 'audio') ? info.durationSec : 0;
        if (!(durationSec > 0)) throw ApplicationFailure.nonRetryable(`the voice (${input.audioKey}) holds no sound ffprobe can read`, 'VoiceUnreadable');
        const starts = lengths.reduce((sum, length) => [...sum, sum[sum.length - 1]! + length], [0]);
        const lastStart = starts[starts.length - 1]!;
        if (lastStart >= durationSec) {
          throw ApplicationFailure.nonRetryable(`the scenes before the last last ${lastStart} s, but the voice lasts only ${Math.round(durationSec * 100) / 100} s`, 'VoiceTooShort');
        }
        const manifest: SpeechManifest = { durationSec, segments: starts.map((startSec, i) => ({ startSec, endSec: starts[i + 1] ?? durationSec })), cues: [], words: [] };
        const manifestKey = keysFor(content.id).speech(inputsHash({ audioKey: input.audioKey, lengths })).manifest;
        await db.objects.put(manifestKey, JSON.stringify(manifest), 'application/json');
        return { audioKey: input.audioKey, manifestKey, durationSec };
      });
    },

    /**
     * A captions step: the words of a speech step (its manifest) or the ones the request gave,
     * grouped into the captions of the project's template (in the request's mode, when it names
     * one), written as SubRip, WebVTT and an ASS document for the template's frame. No provider is
     * called: the job records the files.
     */
    async writeCaptions(input: { contentId: string; speech?: SpeechOutput }): Promise<CaptionsOutput> {
      const content = await loadContent(db, input.contentId);
      const request = stepRequestOf(content);
      const language = languageOf(content);
      const manifest = input.speech ? await readManifest(input.speech.manifestKey) : undefined;
      const words = manifest
        ? (manifest.words ?? spokenWords(manifest.cues, manifest.segments, language))
        : (request?.words ?? []).map((word) => ({ text: word.text, startSec: word.start, endSec: word.end, segment: 0 }));
      if (words.length === 0) throw ApplicationFailure.nonRetryable('there are no words to caption', 'NoWords');
      const plan = await planLookOf(db, content.project);
      const template = (await templateFor(db, content.project, plan.features)).template_data;
      const look = lookOf(template, plan.branding);
      const style = { ...captionStyleOf(template, look), ...(request?.mode ? { mode: request.mode } : {}) };
      const cues = captionCues(words, style, language);
      const keys = keysFor(content.id).captionFiles;
      await db.objects.put(keys.srt, toSrt(cues), 'application/x-subrip');
      await db.objects.put(keys.vtt, toWebVtt(cues), 'text/vtt');
      await db.objects.put(keys.ass, toAss(cues, style, look, language), 'text/x-ssa');
      return { srtKey: keys.srt, vttKey: keys.vtt, assKey: keys.ass, cues: cues.length };
    },
  };
}

export type MediaActivities = ReturnType<typeof createMediaActivities>;
