import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMediaActivities, type MediaActivities } from '../../activities/media';
import { projectUploadsPrefix } from '../../activities/media-keys';
import { recordingInterceptor } from '../../activities/recording';
import type { MediaAsset } from '../../db/models';
import { createProviders, type Providers } from '../../providers';
import type { RenderRequest, SceneImageRequest } from '../../providers/types';
import { createPipelineHarness, createTenant, type PipelineHarness, type Tenant } from '../support/pipeline';
import { scratchDir } from '../support/scratch-dir';
import { loudIntervals, meanAbsDiff, rawFrame } from '../providers/ffmpeg/support';

const execFileAsync = promisify(execFile);

const SCRIPT = {
  hook: 'Short videos are made by machines now.',
  body: ['A script, a voice and the scenes take a few minutes.', 'Your own clips and music fit right in.'],
  cta: 'Subscribe for the next one.',
  full_text: 'Short videos are made by machines now. A script, a voice and the scenes take a few minutes. Your own clips and music fit right in. Subscribe for the next one.',
};

/** The top third of the frame, away from the captions and the platforms' buttons. */
const TOP = { x: 0.1, y: 0.05, w: 0.8, h: 0.3 };

/**
 * The creator's own media in a production, on the real stores and the local engines: a clip fills
 * its scene instead of a generated card, and an uploaded track plays under the voice.
 */
describe("media activities with the creator's own media", () => {
  let h: PipelineHarness;
  let tenant: Tenant;
  let media: MediaActivities;
  const workRoot = scratchDir('media-user-work-');
  const files = scratchDir('media-user-files-');
  const imageRequests: SceneImageRequest[] = [];
  let lastRender: RenderRequest | undefined;

  before(async () => {
    h = await createPipelineHarness();
    tenant = await createTenant(h, { credits: 5 });
    const local = createProviders(h.ctx.config);
    const watched: Providers = {
      ...local,
      images: {
        name: local.images.name,
        createSceneImages(request, options) {
          imageRequests.push(request);
          return local.images.createSceneImages(request, options);
        },
      },
      renderer: {
        name: local.renderer.name,
        render(request, options) {
          lastRender = request;
          return local.renderer.render(request, options);
        },
      },
    };
    media = createMediaActivities(h.ctx, watched, workRoot.path);
  });

  after(async () => {
    await h?.close();
  });

  function attempt<A extends keyof MediaActivities>(
    activityType: A,
    input: Parameters<MediaActivities[A]>[0],
    contentId: string,
    runId: string,
  ): Promise<Awaited<ReturnType<MediaActivities[A]>>> {
    const env = new MockActivityEnvironment(
      { activityType, attempt: 1, workflowExecution: { workflowId: `content-${contentId}`, runId } },
      { interceptors: [recordingInterceptor(h.ctx.db)] },
    );
    return env.run(media[activityType] as (arg: typeof input) => Promise<Awaited<ReturnType<MediaActivities[A]>>>, input);
  }

  /** Makes a file with ffmpeg from a lavfi source and uploads it as the project's upload; returns its key and local path. */
  async function uploaded(name: string, lavfi: string[], contentType: string): Promise<{ key: string; path: string }> {
    const path = join(files.path, name);
    await execFileAsync('ffmpeg', ['-v', 'error', '-y', ...lavfi, path]);
    const key = `${projectUploadsPrefix({ organizationId: tenant.organizationId, userId: null, projectId: tenant.projectId })}${randomUUID()}${name.slice(name.lastIndexOf('.'))}`;
    await h.ctx.db.objects.putFile(key, path, contentType);
    return { key, path };
  }

  it('fills the scene with the creator’s clip without asking the provider for it, and lays the creator’s music under the voice', async () => {
    const clip = await uploaded('clip.mp4', ['-f', 'lavfi', '-i', 'color=c=0xD02020:s=360x640:r=30:d=3', '-c:v', 'libx264', '-pix_fmt', 'yuv420p'], 'video/mp4');
    const music = await uploaded('music.m4a', ['-f', 'lavfi', '-i', 'sine=frequency=330:duration=4', '-c:a', 'aac'], 'audio/mp4');
    const own: MediaAsset[] = [
      { type: 'video', url: h.ctx.db.objects.urlFor(clip.key), source: 'user', timestamp: 0, duration: 0, key: clip.key, scene: 1 },
      { type: 'audio', url: h.ctx.db.objects.urlFor(music.key), source: 'user', timestamp: 0, duration: 0, key: music.key, volume: 0.3 },
    ];
    const content = await h.ctx.models.Content.create({ project_id: tenant.projectId, title: 'Own media', script: SCRIPT, status: 'processing', source_type: 'manual', media_assets: own } as never);
    const runId = randomUUID();

    const speech = await attempt('synthesizeSpeech', { contentId: content.id }, content.id, runId);
    const images = await attempt('createSceneImages', { contentId: content.id }, content.id, runId);
    assert.deepEqual(imageRequests.at(-1)?.scenes.map((scene) => scene.index), [0, 2, 3], 'the provider makes only the scenes without the creator’s media');
    assert.equal(images.imageKeys[1], clip.key);
    assert.deepEqual([images.sources, images.kinds], [['generated', 'user', 'generated', 'generated'], ['image', 'video', 'image', 'image']]);

    const video = await attempt('renderVideo', { contentId: content.id, speech, images }, content.id, runId);
    assert.equal(lastRender?.music?.volume, 0.3);
    const row = await h.ctx.models.Content.findByPk(content.id);
    const assets = row?.media_assets ?? assert.fail('the content');
    assert.deepEqual(
      assets.map((asset) => [asset.type, asset.source, asset.key ?? null, asset.scene ?? null]),
      [['image', 'generated', null, null], ['video', 'user', clip.key, 1], ['image', 'generated', null, null], ['image', 'generated', null, null], ['audio', 'user', music.key, null]],
      'the rendered scenes, the creator’s marked as theirs, and the music kept',
    );

    const videoPath = join(files.path, 'video.mp4');
    await h.ctx.db.objects.getToFile(video.videoKey, videoPath);
    const scene = assets[1]!;
    const clipFrame = await rawFrame(clip.path, { atSec: 1, crop: TOP });
    const inScene = await rawFrame(videoPath, { atSec: scene.timestamp + (scene.duration ?? 0) / 2, crop: TOP });
    const inCard = await rawFrame(videoPath, { atSec: assets[0]!.timestamp + (assets[0]!.duration ?? 0) / 2, crop: TOP });
    assert.ok(meanAbsDiff(inScene, clipFrame) < 25, `scene 1 shows the clip (difference ${meanAbsDiff(inScene, clipFrame)})`);
    assert.ok(meanAbsDiff(inCard, clipFrame) > 40, `scene 0 shows its card (difference ${meanAbsDiff(inCard, clipFrame)})`);

    // Before the voice starts (the intro) only the music sounds: the audio is loud from the start.
    const voiceStart = assets[0]!.timestamp;
    assert.ok(voiceStart > 0.5, `the intro lasts ${voiceStart} s`);
    const loud = await loudIntervals(videoPath, video.durationSec);
    assert.ok(loud.some((interval) => interval.startSec < 0.1 && interval.endSec > voiceStart), `music under the intro: ${JSON.stringify(loud)}`);
  });

  it("uses the project's music when the content has none, and a change of music is another render", async () => {
    const music = await uploaded('project-music.mp3', ['-f', 'lavfi', '-i', 'sine=frequency=440:duration=3', '-c:a', 'libmp3lame'], 'audio/mpeg');
    const project = await h.ctx.models.Project.findByPk(tenant.projectId);
    await project!.update({ style_preset: { ...project!.style_preset, music_key: music.key, music_volume: 0.15 } });
    const content = await h.ctx.models.Content.create({ project_id: tenant.projectId, title: 'Project music', script: SCRIPT, status: 'processing', source_type: 'manual' } as never);
    const runId = randomUUID();
    const speech = await attempt('synthesizeSpeech', { contentId: content.id }, content.id, runId);
    const images = await attempt('createSceneImages', { contentId: content.id }, content.id, runId);
    const renderedWith = async (run: string): Promise<RenderRequest['music']> => {
      lastRender = undefined;
      await attempt('renderVideo', { contentId: content.id, speech, images }, content.id, run);
      return (lastRender as RenderRequest | undefined)?.music;
    };
    assert.equal((await renderedWith(runId))?.volume, 0.15);
    await project!.update({ style_preset: { ...project!.style_preset, music_volume: 0.05 } });
    assert.equal((await renderedWith(randomUUID()))?.volume, 0.05, 'rendered again at the new volume');
    await project!.update({ style_preset: {} });
  });
});
