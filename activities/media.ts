import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type { Content, MediaAsset, MediaAssetSource, Project, TemplateData } from '../db/models';
import type { AppContext } from '../control/app-context';
import type { Providers } from '../providers';
import type { SceneImage, SubtitleCue, TemplateLook } from '../providers/types';
import { guardContentCost } from './costs';
import { loadContent } from './scope';
import { toActivityFailure } from './failures';
import { contentMediaKeys } from './media-keys';
import { currentJob, providerCallOptions, recordUsage, resumableExternalJob } from './recording';

export interface SpeechOutput {
  audioKey: string;
  manifestKey: string;
  durationSec: number;
}

export interface ImagesOutput {
  imageKeys: string[];
  /** Where each scene's picture came from (absent in runs recorded before it was kept). */
  sources?: SceneImage['source'][];
}

interface SpeechManifest {
  durationSec: number;
  segments: { startSec: number; endSec: number }[];
  cues: SubtitleCue[];
}

/** The scenes of a script, in speaking order: the hook, each body section, the call to action. */
export function scriptScenes(script: Content['script']): string[] {
  return [script.hook, ...script.body, script.cta].map((s) => s.trim()).filter((s) => s.length > 0);
}

/** `media_assets.source` (seed §3.4.1) of a scene picture: AI pictures are generated too. */
const MEDIA_SOURCE: Readonly<Record<SceneImage['source'], MediaAssetSource>> = { generated: 'generated', ai: 'generated', stock: 'stock' };

/** A project's own voice (style_preset.voice: an ElevenLabs voice id or an espeak-ng voice), over the deployment's. */
function voiceOf(project: Project): { voice?: string } {
  const voice = project.style_preset?.voice;
  return typeof voice === 'string' && voice.trim() !== '' ? { voice: voice.trim() } : {};
}

function parseResolution(resolution: string): { width: number; height: number } {
  const match = /^(\d{3,4})x(\d{3,4})$/.exec(resolution);
  if (!match) throw ApplicationFailure.nonRetryable(`template resolution "${resolution}" is not WIDTHxHEIGHT`, 'BadTemplate');
  return { width: Number(match[1]), height: Number(match[2]) };
}

/**
 * The heavy activities (speech, images, render) run on their own task queue. Inputs and outputs are
 * S3 keys; each activity works in a private temporary folder that it removes when done.
 */
export function createMediaActivities(ctx: AppContext, providers: Providers, workRoot: string) {
  const { db } = ctx;
  const { Template } = db.models;

  /** The project's chosen template (style_preset.template_id), else the system template for its format and vertical. */
  async function templateFor(project: Project): Promise<TemplateData> {
    const chosen = typeof project.style_preset?.template_id === 'string' ? await Template.findByPk(project.style_preset.template_id) : null;
    if (chosen) return chosen.template_data;
    const candidates = await Template.findAll({
      where: { template_type: 'system', content_format: project.content_format, is_active: true },
      order: [['created_at', 'ASC']],
    });
    const template = candidates.find((t) => t.vertical === project.vertical) ?? candidates.find((t) => t.vertical === null) ?? candidates[0];
    if (!template) throw ApplicationFailure.nonRetryable(`no active system template for format ${project.content_format}`, 'NoTemplate');
    return template.template_data;
  }

  async function lookFor(project: Project): Promise<TemplateLook> {
    return lookOf(await templateFor(project));
  }

  function lookOf(data: TemplateData): TemplateLook {
    return { ...parseResolution(data.resolution), colors: data.colors, font: data.fonts[0] ?? 'Noto Sans CJK KR' };
  }

  function keysFor(contentId: string) {
    const scope = currentJob();
    if (!scope) throw new Error('media activities run inside a recorded content job');
    return contentMediaKeys(scope, contentId);
  }

  async function withWorkDir<T>(label: string, fn: (dir: string) => Promise<T>): Promise<T> {
    await mkdir(workRoot, { recursive: true });
    const dir = await mkdtemp(join(workRoot, `${label}-`));
    try {
      return await fn(dir);
    } catch (err) {
      throw toActivityFailure(err);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  async function download(key: string, path: string): Promise<string> {
    await db.objects.getToFile(key, path);
    return path;
  }

  return {
    async synthesizeSpeech(input: { contentId: string }): Promise<SpeechOutput> {
      const content = await loadContent(db, input.contentId);
      const keys = keysFor(content.id);
      const segments = scriptScenes(content.script);
      await guardContentCost(ctx, content.id, 'speech', { characters: segments.join(' ').length });
      return withWorkDir(`tts-${content.id}`, async (dir) => {
        const result = await providers.speech.synthesize(
          { language: content.project.mediaLanguage(), segments, outDir: dir, ...voiceOf(content.project) },
          providerCallOptions(),
        );
        await recordUsage(result.usage);
        await db.objects.putFile(keys.audio, result.audioPath, 'audio/mp4');
        const manifest: SpeechManifest = { durationSec: result.durationSec, segments: result.segments, cues: result.cues };
        await db.objects.put(keys.speechManifest, JSON.stringify(manifest), 'application/json');
        await content.update({ audio_url: db.objects.urlFor(keys.audio), audio_duration: Math.round(result.durationSec * 100) / 100 });
        return { audioKey: keys.audio, manifestKey: keys.speechManifest, durationSec: result.durationSec };
      });
    },

    async createSceneImages(input: { contentId: string }): Promise<ImagesOutput> {
      const content = await loadContent(db, input.contentId);
      const keys = keysFor(content.id);
      const look = await lookFor(content.project);
      const scenes = scriptScenes(content.script).map((text, index) => ({ index, text, keywords: content.tags ?? [] }));
      await guardContentCost(ctx, content.id, 'images', { scenes: scenes.length });
      return withWorkDir(`images-${content.id}`, async (dir) => {
        const { images, usage } = await providers.images.createSceneImages(
          { language: content.project.mediaLanguage(), look, scenes, outDir: dir },
          providerCallOptions(),
        );
        await recordUsage(usage);
        const ordered = [...images].sort((a, b) => a.index - b.index);
        const imageKeys: string[] = [];
        for (const image of ordered) {
          const key = keys.scene(image.index);
          await db.objects.putFile(key, image.path, 'image/png');
          imageKeys.push(key);
        }
        const credits = [...new Set(ordered.map((image) => image.credit).filter((credit): credit is string => Boolean(credit)))];
        const description = content.description ?? '';
        const missing = credits.filter((credit) => !description.includes(credit));
        if (missing.length > 0) await content.update({ description: [description, missing.join('\n')].filter(Boolean).join('\n\n').slice(0, 5000) });
        return { imageKeys, sources: ordered.map((image) => image.source) };
      });
    },

    async renderVideo(input: { contentId: string; speech: SpeechOutput; images: ImagesOutput }): Promise<{ videoKey: string; thumbnailKey: string; durationSec: number }> {
      const content = await loadContent(db, input.contentId);
      const keys = keysFor(content.id);
      const template = await templateFor(content.project);
      const look = lookOf(template);
      await guardContentCost(ctx, content.id, 'render', { durationSec: input.speech.durationSec, width: look.width, height: look.height });
      return withWorkDir(`render-${content.id}`, async (dir) => {
        const manifest = JSON.parse((await db.objects.getBuffer(input.speech.manifestKey)).toString('utf8')) as SpeechManifest;
        if (manifest.segments.length !== input.images.imageKeys.length) {
          throw ApplicationFailure.nonRetryable(
            `speech has ${manifest.segments.length} scenes but ${input.images.imageKeys.length} images were made`,
            'SceneMismatch',
          );
        }
        const audioPath = await download(input.speech.audioKey, join(dir, 'voice.m4a'));
        const scenes = await Promise.all(
          input.images.imageKeys.map(async (key, i) => ({
            imagePath: await download(key, join(dir, `scene-${i}.png`)),
            startSec: manifest.segments[i]!.startSec,
            endSec: manifest.segments[i]!.endSec,
          })),
        );
        const resume = resumableExternalJob();
        const result = await providers.renderer.render(
          {
            look,
            fps: 30,
            scenes,
            audioPath,
            cues: manifest.cues,
            outDir: dir,
            ...(resume ? { resumeExternalJobId: resume } : {}),
            ...(template.creatomate_template_id ? { remoteTemplateId: template.creatomate_template_id } : {}),
          },
          providerCallOptions(),
        );
        await recordUsage(result.usage);
        await db.objects.putFile(keys.video, result.videoPath, 'video/mp4');
        await db.objects.putFile(keys.thumbnail, result.thumbnailPath, 'image/jpeg');
        const mediaAssets: MediaAsset[] = scenes.map((s, i) => ({
          type: 'image',
          url: db.objects.urlFor(input.images.imageKeys[i]!),
          source: MEDIA_SOURCE[input.images.sources?.[i] ?? 'generated'],
          timestamp: Math.round(s.startSec * 100) / 100,
          duration: Math.round((s.endSec - s.startSec) * 100) / 100,
        }));
        await content.update({
          video_url: db.objects.urlFor(keys.video),
          thumbnail_url: db.objects.urlFor(keys.thumbnail),
          video_duration: Math.round(result.durationSec * 100) / 100,
          video_resolution: `${result.width}x${result.height}`,
          media_assets: mediaAssets,
        });
        const scope = currentJob();
        await db.analytics.track(
          'video_rendered',
          { userId: scope?.userId, organizationId: scope?.organizationId, projectId: content.project_id, contentId: content.id },
          { vertical: content.project.vertical, duration: result.durationSec, resolution: `${result.width}x${result.height}`, renderer: providers.renderer.name },
        );
        return { videoKey: keys.video, thumbnailKey: keys.thumbnail, durationSec: result.durationSec };
      });
    },
  };
}

export type MediaActivities = ReturnType<typeof createMediaActivities>;
