import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createMediaActivities, type MediaActivities } from '../../activities/media';
import { createProviders, type Providers } from '../../providers';
import { SceneCardImageProvider } from '../../providers/images/scene-cards';
import { StockFootageProvider } from '../../providers/images/stock-footage';
import type { RenderRequest } from '../../providers/types';
import { startFakePexels } from '../fakes/pexels-server';
import { createPipelineHarness, createTenant, type PipelineHarness, type Tenant } from '../support/pipeline';
import { mediaAttempts } from '../support/media-attempts';
import { scratchDir } from '../support/scratch-dir';

const SCRIPT = {
  hook: '아침마다 물 한 잔을 마셔 보세요.',
  body: ['밤새 부족해진 수분을 채워 줍니다.'],
  cta: '구독하고 건강 소식을 받아 보세요.',
  full_text: '아침마다 물 한 잔을 마셔 보세요. 밤새 부족해진 수분을 채워 줍니다. 구독하고 건강 소식을 받아 보세요.',
};

/**
 * The media activities with stock clips (the `stock` provider against the fake Pexels) on the real
 * stores: clips are kept as MP4s beside the step's record, the renderer gets them as clips, the
 * content's media assets say so, and the description credits the videographers.
 */
describe('media activities with stock clips', () => {
  let h: PipelineHarness;
  let tenant: Tenant;
  let media: MediaActivities;
  let pexels: Awaited<ReturnType<typeof startFakePexels>>;
  let lastRender: RenderRequest | undefined;
  let imageCalls = 0;
  const workRoot = scratchDir('media-stock-work-');

  before(async () => {
    pexels = await startFakePexels();
    h = await createPipelineHarness();
    tenant = await createTenant(h, { credits: 5 });
    const local = createProviders(h.ctx.config);
    const stock = new StockFootageProvider({ pexels: { apiKey: pexels.state.apiKey, baseUrl: pexels.baseUrl }, fallback: new SceneCardImageProvider() });
    const providers: Providers = {
      ...local,
      images: {
        name: stock.name,
        createSceneImages(request, options) {
          imageCalls += 1;
          return stock.createSceneImages(request, options);
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
    media = createMediaActivities(h.ctx, providers, workRoot.path);
  });

  after(async () => {
    await h?.close();
    await pexels?.close();
  });

  const attempt = mediaAttempts(() => h, () => media);

  it('stores each scene clip as an MP4, renders it as a clip, and records video media assets from stock', async () => {
    const content = await h.ctx.models.Content.create({ project_id: tenant.projectId, title: '아침 물 한 잔', script: SCRIPT, status: 'processing', source_type: 'manual' } as never);
    const run = { contentId: content.id, runId: randomUUID(), attempt: 1 };
    const speech = await attempt('synthesizeSpeech', { contentId: content.id }, run);
    const images = await attempt('createSceneImages', { contentId: content.id }, run);

    assert.deepEqual(images.kinds, ['video', 'video', 'video']);
    assert.deepEqual(images.sources, ['stock', 'stock', 'stock']);
    assert.ok(images.imageKeys.every((key) => key.endsWith('.mp4')), images.imageKeys.join(', '));
    for (const key of images.imageKeys) assert.equal((await h.ctx.db.objects.getBuffer(key)).subarray(4, 8).toString('latin1'), 'ftyp', `${key} is an MP4`);
    const credited = (await h.ctx.models.Content.findByPk(content.id))?.description ?? '';
    assert.match(credited, /Video by [\w -]+ on Pexels/);

    const downloads = pexels.state.clipDownloads.length;
    const again = await attempt('createSceneImages', { contentId: content.id }, { ...run, attempt: 2 });
    assert.deepEqual(again, images, 'a retry finds the finished step, clips and kinds included');
    assert.equal(imageCalls, 1);
    assert.equal(pexels.state.clipDownloads.length, downloads);

    await attempt('renderVideo', { contentId: content.id, speech, images }, run);
    assert.deepEqual(
      lastRender?.scenes.map((scene) => scene.shots.map((shot) => [shot.kind, shot.path.endsWith('.mp4')])),
      [[['video', true]], [['video', true]], [['video', true]]],
    );
    const row = await h.ctx.models.Content.findByPk(content.id);
    assert.deepEqual(
      row?.media_assets.map((asset) => [asset.type, asset.source, asset.url.endsWith('.mp4')]),
      [
        ['video', 'stock', true],
        ['video', 'stock', true],
        ['video', 'stock', true],
      ],
    );
    assert.ok(Number(row?.video_duration) > Number(row?.audio_duration));
  });
});
