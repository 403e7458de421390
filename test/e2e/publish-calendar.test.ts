import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startProduction } from '../../control/productions';
import { approveSignal, progressQuery } from '../../workflows/produce-content';
import { createPipelineHarness, createTenant, createTopicContent, waitFor, type PipelineHarness } from '../support/pipeline';

/** "HH:MM" in `timeZone` of the first whole minute at least `leadMs` from now, and that instant. */
function nextMinute(leadMs: number, timeZone: string): { time: string; at: Date } {
  const at = new Date(Math.ceil((Date.now() + leadMs) / 60_000) * 60_000);
  const time = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(at);
  return { time, at };
}

describe("a channel's publishing calendar", () => {
  let h: PipelineHarness;

  before(async () => {
    h = await createPipelineHarness();
  });
  after(async () => {
    await h?.close();
  });

  it("holds an approved content until the channel's schedule_time in its time zone, then uploads it", async () => {
    const ctx = h.isolated('calendar');
    await h.startWorkers(ctx);
    const tenant = await createTenant(h, { credits: 1, withChannel: true });
    const contentId = await createTopicContent(h, tenant.projectId, '매일 아침 스트레칭 5분');
    const handle = await startProduction(ctx, contentId);
    await waitFor('approval wait', async () => (await handle.query(progressQuery)).step === 'awaiting_approval');

    const timeZone = 'America/New_York';
    const { time, at } = nextMinute(15_000, timeZone);
    const channel = await ctx.models.Channel.findByPk(tenant.channelId!, { rejectOnEmpty: true });
    await channel.update({ upload_settings: { default_visibility: 'public', auto_publish: false, schedule_time: time, timezone: timeZone, made_for_kids: false } });

    await handle.signal(approveSignal, {});
    const upload = await waitFor('scheduled upload row', () => ctx.models.ContentUpload.findOne({ where: { content_id: contentId } }));
    assert.equal(upload.status, 'scheduled');
    assert.equal(upload.scheduled_at?.toISOString(), at.toISOString(), `the next ${time} in ${timeZone}`);
    assert.equal(h.youtube.state.videos.size, 0, 'nothing is uploaded before the calendar says so');

    const result = await handle.result();
    assert.equal(result.step, 'published');
    assert.ok(Date.now() >= at.getTime(), 'published at or after the scheduled minute');
    await upload.reload();
    assert.equal(upload.status, 'published');
    assert.ok(upload.platform_video_id && h.youtube.state.videos.has(upload.platform_video_id));
  });
});
