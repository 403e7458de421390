import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createMediaActivities, type MediaActivities } from '../../activities/media';
import { recordingInterceptor } from '../../activities/recording';
import type { TemplateData } from '../../db/models';
import { createProviders } from '../../providers';
import { organizationLogoPrefix } from '../../activities/media-keys';
import { runFfmpeg } from '../../providers/ffmpeg/runner';
import { logoPlacement } from '../../providers/render/render-command';
import { rawFrame } from '../providers/ffmpeg/support';
import { createPipelineHarness, createTenant, type PipelineHarness, type Tenant } from '../support/pipeline';
import { scratchDir } from '../support/scratch-dir';

const SCRIPT = {
  hook: 'Water first, every single morning.',
  body: ['It wakes your body up before coffee does.'],
  cta: 'Try it tomorrow and tell us how it went.',
  full_text: 'Water first, every single morning.\nIt wakes your body up before coffee does.\nTry it tomorrow and tell us how it went.',
};

/** A portrait template whose captions are plain lines in one colour at one place, with no intro or outro. */
function captionTemplate(color: string, position: 'top' | 'bottom'): TemplateData {
  const none = { duration: 0, animation: 'none' as const };
  return {
    duration: 60,
    resolution: '1080x1920',
    elements: {
      intro: { ...none, title: { font_size: 90, font_weight: 'bold', position: 'center' } },
      body: {
        scene_duration: 5,
        transition: 'cut',
        motion: 'static',
        caption: { font_size: 110, font_weight: 'bold', position, color, max_chars_per_line: 12, mode: 'classic' },
      },
      outro: { ...none, cta: { font_size: 90, font_weight: 'bold', position: 'center' } },
    },
    fonts: ['Noto Sans CJK KR'],
    colors: { primary: '#203040', secondary: '#304050' },
  };
}

/** Rows (as fractions of the height) and count of the pixels close to a pure colour in an RGB frame. */
function pixelsOf(frame: Buffer, size: [number, number], channel: 0 | 1): { count: number; meanY: number } {
  const [width, height] = size;
  let count = 0;
  let rows = 0;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const at = (y * width + x) * 3;
      const rgb = [frame[at] as number, frame[at + 1] as number, frame[at + 2] as number];
      if ((rgb[channel] as number) > 180 && rgb.every((value, index) => index === channel || value < 90)) {
        count += 1;
        rows += y;
      }
    }
  }
  return { count, meanY: count === 0 ? NaN : rows / count / height };
}

/**
 * One content rendered with two templates: the video follows each template's caption colour and
 * place, measured from its pixels.
 */
describe("the template's design in the video", () => {
  let h: PipelineHarness;
  let tenant: Tenant;
  let media: MediaActivities;
  const workRoot = scratchDir('media-templates-');

  before(async () => {
    h = await createPipelineHarness();
    tenant = await createTenant(h, { credits: 2, language: 'en' });
    media = createMediaActivities(h.ctx, createProviders(h.ctx.config), workRoot.path);
  });
  after(async () => {
    await h?.close();
  });

  function attempt<A extends keyof MediaActivities>(activityType: A, input: Parameters<MediaActivities[A]>[0], contentId: string, runId: string) {
    const env = new MockActivityEnvironment(
      { activityType, attempt: 1, workflowExecution: { workflowId: `content-${contentId}`, runId } },
      { interceptors: [recordingInterceptor(h.ctx.db)] },
    );
    return env.run(media[activityType] as (arg: typeof input) => Promise<Awaited<ReturnType<MediaActivities[A]>>>, input) as Promise<Awaited<ReturnType<MediaActivities[A]>>>;
  }

  it('draws red captions at the top with one template and green ones at the bottom with the other', async () => {
    const content = await h.ctx.models.Content.create({ project_id: tenant.projectId, title: 'Water first', script: SCRIPT, status: 'processing', source_type: 'manual' } as never);
    const templates = await Promise.all(
      [captionTemplate('#FF0000', 'top'), captionTemplate('#00FF00', 'bottom')].map((template_data, index) =>
        h.ctx.models.Template.create({ organization_id: tenant.organizationId, name: `captions ${index}`, template_type: 'custom', template_data } as never),
      ),
    );
    const project = await h.ctx.models.Project.findByPk(tenant.projectId);
    const frames: Buffer[] = [];
    for (const template of templates) {
      await project!.update({ style_preset: { template_id: template.id } });
      const runId = randomUUID();
      const speech = await attempt('synthesizeSpeech', { contentId: content.id }, content.id, runId);
      const images = await attempt('createSceneImages', { contentId: content.id }, content.id, runId);
      const video = await attempt('renderVideo', { contentId: content.id, speech, images }, content.id, runId);
      const path = join(workRoot.path, `${template.id}.mp4`);
      await writeFile(path, await h.ctx.db.objects.getBuffer(video.videoKey));
      const manifest = JSON.parse((await h.ctx.db.objects.getBuffer(speech.manifestKey)).toString('utf8')) as { words: { startSec: number; endSec: number }[] };
      const word = manifest.words[1] ?? assert.fail('a timed word');
      frames.push(await rawFrame(path, { atSec: (word.startSec + word.endSec) / 2, size: [216, 384] }));
    }
    const [first, second] = frames as [Buffer, Buffer];
    const red = pixelsOf(first, [216, 384], 0);
    const green = pixelsOf(second, [216, 384], 1);
    assert.ok(red.count > 40 && red.meanY < 0.3, `red captions at the top: ${red.count} pixels around ${red.meanY.toFixed(2)} of the height`);
    assert.ok(green.count > 40 && green.meanY > 0.7, `green captions at the bottom: ${green.count} pixels around ${green.meanY.toFixed(2)} of the height`);
    assert.equal(pixelsOf(first, [216, 384], 1).count, 0, 'no green in the first template’s video');
    assert.equal(pixelsOf(second, [216, 384], 0).count, 0, 'no red in the second template’s video');
  });

  it("draws a white_label organization's uploaded logo in the top right corner of its videos", async () => {
    const branded = await createTenant(h, { credits: 1, plan: 'business', language: 'en' });
    const logoPng = join(workRoot.path, 'logo.png');
    await runFfmpeg(['-f', 'lavfi', '-i', 'color=c=0x0000FF:s=64x64', '-frames:v', '1', '-update', '1', logoPng]);
    const logoKey = `${organizationLogoPrefix(branded.organizationId)}${randomUUID()}.png`;
    await h.ctx.db.objects.putFile(logoKey, logoPng, 'image/png');
    await h.ctx.models.Organization.update({ logo_url: h.ctx.db.objects.urlFor(logoKey) }, { where: { id: branded.organizationId } });
    const template = await h.ctx.models.Template.create({ organization_id: branded.organizationId, name: 'branded', template_type: 'custom', template_data: captionTemplate('#00FF00', 'bottom') } as never);
    await h.ctx.models.Project.update({ style_preset: { template_id: template.id } }, { where: { id: branded.projectId } });
    const content = await h.ctx.models.Content.create({ project_id: branded.projectId, title: 'Water first', script: SCRIPT, status: 'processing', source_type: 'manual' } as never);
    const runId = randomUUID();
    const speech = await attempt('synthesizeSpeech', { contentId: content.id }, content.id, runId);
    const images = await attempt('createSceneImages', { contentId: content.id }, content.id, runId);
    const video = await attempt('renderVideo', { contentId: content.id, speech, images }, content.id, runId);
    const path = join(workRoot.path, 'branded.mp4');
    await writeFile(path, await h.ctx.db.objects.getBuffer(video.videoKey));

    const { box, marginX, marginY } = logoPlacement(1080, 1920);
    const scale = 216 / 1080;
    const at = (x: number, y: number, frame: Buffer) => {
      const offset = (Math.round(y * scale) * 216 + Math.round(x * scale)) * 3;
      return [frame[offset], frame[offset + 1], frame[offset + 2]] as number[];
    };
    for (const atSec of [1, video.durationSec - 1]) {
      const frame = await rawFrame(path, { atSec, size: [216, 384] });
      const [r, g, b] = at(1080 - marginX - box / 2, marginY + box / 2, frame);
      assert.ok(b! > 200 && r! < 60 && g! < 60, `the logo's blue at ${atSec} s: rgb(${r}, ${g}, ${b})`);
      const [, , outside] = at(marginX + box / 2, marginY + box / 2, frame);
      assert.ok(outside! < 200, `no logo in the top left corner at ${atSec} s (blue ${outside})`);
    }
  });
});
