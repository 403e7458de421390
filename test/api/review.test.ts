import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFile, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { contentMediaKeys } from '../../activities/media-keys';
import { hashPassword } from '../../api/auth/passwords';
import { startWorkers, type RunningWorkers } from '../../worker';
import { produceContentWorkflowId } from '../../workflows/produce-content';
import { createApiHarness, type ApiHarness } from '../support/api';
import { scratchDir } from '../support/scratch-dir';
import { createPeople, createProject, type People } from '../support/tenants';
import { waitFor } from '../support/wait';

/** Where the last run's screenshot is copied, to be looked at. */
const KEPT_SCREENSHOT = join(tmpdir(), 'review-screenshot.png');

/**
 * The review page in a real headless browser (Debian's chromium, driven by puppeteer-core) against
 * the API on the test stack, with real workers: two contents of a project with a channel are
 * produced until they await approval; the page signs in, plays both videos from their presigned
 * links beside their script, safety and cost, approves one for a time and rejects the other, and
 * the productions follow. The page loads nothing but the API and the store, and breaks no rule of
 * its Content-Security-Policy.
 */
describe('review page', () => {
  let api: ApiHarness;
  let people: People;
  let projectId: string;
  let channelId: string;
  let workers: RunningWorkers | undefined;
  let browser: Browser | undefined;
  const password = `pw-${randomBytes(8).toString('hex')}`;
  const produced: string[] = [];
  const shots = scratchDir('review-');

  const editor = () => people.as.editor.token;
  const awaiting = async (token = editor()) => {
    const res = await api.request('GET', '/contents?awaiting_approval=true', { token });
    assert.equal(res.status, 200, res.text);
    return (res.body.items as { id: string }[]).map((item) => item.id).sort();
  };

  before(async () => {
    // Its own media queue: the workers of this suite must not take media work of another.
    api = await createApiHarness({ TEMPORAL_MEDIA_TASK_QUEUE: `review-media-${randomBytes(3).toString('hex')}` });
    api.secrets.add(password);
    people = await createPeople(api, { plan: 'business' });
    await api.ctx.models.User.update({ password_hash: await hashPassword(password) }, { where: { id: people.as.editor.userId } });
    projectId = await createProject(api, { organization_id: people.orgId }, 'Reviewed shorts');
    channelId = (await api.ctx.models.Channel.create({ project_id: projectId, platform: 'youtube', channel_id: 'UCreview', channel_name: 'Review TV', status: 'connected' } as never)).id;
  });
  after(async () => {
    await browser?.close();
    await Promise.allSettled(produced.map((id) => api.ctx.temporal.workflow.getHandle(produceContentWorkflowId(id)).terminate('test over')));
    await workers?.shutdown();
    api.assertNoLeaks();
    await api.close();
  });

  it('serves one self-contained page under a strict Content-Security-Policy', async () => {
    const res = await fetch(`${api.baseUrl}/review`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
    const policy = Object.fromEntries((res.headers.get('content-security-policy') ?? '').split(/;\s*/).map((d) => [d.split(' ')[0], d.split(' ').slice(1)]));
    const store = new URL(await api.ctx.db.objects.presignedGetUrl('x')).origin;
    assert.deepEqual(policy['default-src'], ["'none'"]);
    assert.match(policy['script-src']?.join(' ') ?? '', /^'sha256-[\w+/]+=*'$/, 'its one script, by hash');
    assert.match(policy['style-src']?.join(' ') ?? '', /^'sha256-[\w+/]+=*'$/, 'its one style, by hash');
    assert.deepEqual([policy['connect-src'], policy['media-src'], policy['img-src']], [["'self'"], [store], [store]]);
    const page = await res.text();
    assert.doesNotMatch(page, /\b(src|href)=/, 'it loads no file of its own');
    assert.equal(page.match(/<script>/g)?.length, 1);
    assert.doesNotMatch(page, /innerHTML|insertAdjacentHTML|outerHTML|document\.write/, 'the API’s text goes in as text');
  });

  it('plays the videos awaiting approval beside their script, safety and cost; approves one for a time and rejects the other', async () => {
    const ids: string[] = [];
    // The second one's topic trips a tech rule of the local safety checker: flagged, yet above the threshold.
    for (const topic of ['검토 화면에서 승인할 영상', '불법 다운로드 없이 영화 보는 법']) {
      const created = await api.request('POST', `/projects/${projectId}/contents`, { token: editor(), body: { topic } });
      assert.equal(created.status, 201, created.text);
      const started = await api.request('POST', `/contents/${created.body.content.id}/generate`, { token: editor() });
      assert.equal(started.status, 202, started.text);
      produced.push(created.body.content.id);
      ids.push(created.body.content.id);
    }
    const [toApprove, toReject] = ids as [string, string];
    const draft = await api.request('POST', `/projects/${projectId}/contents`, { token: editor(), body: { topic: '아직 초안' } });
    assert.equal(draft.status, 201);

    Runtime.install({ logger: new DefaultLogger('WARN') });
    workers = await startWorkers(api.ctx, ['orchestration', 'media']);
    await waitFor('both contents to be listed as awaiting approval', async () => {
      for (const id of ids) {
        const progress = await api.request('GET', `/contents/${id}/progress`, { token: editor() });
        assert.notEqual(progress.body.progress.content_status, 'failed', progress.text);
      }
      return (await awaiting()).join() === [...ids].sort().join();
    }, 300_000, 1000);
    assert.deepEqual(await awaiting(people.as.other.token), [], "another tenant's reviewer sees none of them");
    const refused = await api.request('GET', '/contents?awaiting_approval=false', { token: editor() });
    assert.equal(refused.status, 400);

    // Every answer carries presigned links, from the keys of the video and its thumbnail; the row keeps its stored URL.
    const contents = new Map<string, { content: Record<string, any>; usage: Record<string, any> }>(); // eslint-disable-line @typescript-eslint/no-explicit-any
    for (const id of ids) {
      const { content } = (await api.request('GET', `/contents/${id}`, { token: editor() })).body;
      const usage = (await api.request('GET', `/contents/${id}/usage`, { token: editor() })).body;
      contents.set(id, { content, usage });
      for (const field of ['video_url', 'thumbnail_url']) {
        const link = new URL(content[field]);
        assert.ok(link.searchParams.get('X-Amz-Signature'), `${field} is presigned`);
        assert.equal(link.searchParams.get('X-Amz-Expires'), '3600');
        assert.equal((await fetch(link)).status, 200, `${field} opens`);
      }
      assert.ok(Math.abs(Date.parse(content.links_expire_at) - Date.now() - 3600_000) < 60_000, 'the links expire in an hour');
      const row = await api.ctx.models.Content.findByPk(id);
      const keys = contentMediaKeys({ organizationId: people.orgId, userId: null, projectId }, id);
      assert.deepEqual([row?.video_url, row?.thumbnail_url], [keys.video, keys.thumbnail].map((key) => api.ctx.db.objects.urlFor(key)));
    }
    assert.ok(contents.get(toReject)!.content.safety_flags.length > 0, 'the second one is flagged');
    const listed = await api.request('GET', `/contents?project_id=${projectId}`, { token: editor() });
    for (const item of listed.body.items) {
      if (item.id === draft.body.content.id) assert.deepEqual([item.video_url, item.thumbnail_url, item.links_expire_at], [null, null, null], 'a draft has no links');
      else assert.ok(new URL(item.video_url).searchParams.get('X-Amz-Signature'), 'the list view is presigned too');
    }

    browser = await puppeteer.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      // The local MinIO's certificate is the stack's own.
      args: ['--no-sandbox', '--headless=new', '--ignore-certificate-errors', '--autoplay-policy=no-user-gesture-required'],
    });
    const page = await browser.newPage();
    await page.setViewport({ width: 1280, height: 900 });
    const problems: string[] = [];
    const requested = new Set<string>();
    page.on('console', (message) => {
      if (message.type() === 'error' || /Content Security Policy/i.test(message.text())) problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(String(error)));
    page.on('request', (request) => {
      // The browser's own video controls draw their icons from data: URLs; nothing else may come from elsewhere.
      if (!request.url().startsWith('data:')) requested.add(new URL(request.url()).origin);
    });

    await page.goto(`${api.baseUrl}/review`, { waitUntil: 'load' });
    await page.waitForSelector('#signin');
    await signIn(page, people.as.editor.email, 'not the password');
    await page.waitForSelector('#signin [role=alert]::-p-text(wrong)');
    problems.length = 0; // the browser logs the refused sign-in's 401
    await signIn(page, people.as.editor.email, password);
    await page.waitForSelector('#app article.card', { timeout: 30_000 });
    assert.equal(await page.$$eval('article.card', (cards) => cards.length), ids.length);
    assert.equal(await page.$eval('#who', (node) => node.textContent), people.as.editor.email);

    await waitFor('both videos to play', () => page.$$eval('video', (videos) => videos.length === 2 && videos.every((video) => video.currentTime > 2 && !video.paused)), 60_000);
    // Pointing at the first video shows its controls: the time played and the progress bar.
    await page.hover('article.card video');
    await sleep(500); // the controls fade in
    const screenshot = join(shots.path, 'review.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    assert.ok((await stat(screenshot)).size > 50_000, 'a screenshot of the page with its videos');
    await copyFile(screenshot, KEPT_SCREENSHOT);

    for (const id of ids) {
      const { content, usage } = contents.get(id)!;
      const card = await page.$(`article[data-content-id="${id}"]`);
      assert.ok(card, `a card for ${id}`);
      const shown = await card.evaluate((node) => ({
        title: node.querySelector('h2')?.textContent,
        hook: node.querySelector('.hook')?.textContent,
        body: [...node.querySelectorAll('.body li')].map((li) => li.textContent),
        cta: node.querySelector('.cta')?.textContent,
        score: node.querySelector('.score')?.textContent,
        flags: [...node.querySelectorAll('.flags code')].map((code) => code.textContent),
        cost: node.querySelector('.cost')?.textContent,
        calls: node.querySelector('.usage p')?.textContent,
        video: node.querySelector('video')?.currentSrc,
      }));
      assert.equal(shown.title, content.title);
      assert.equal(shown.hook, `Hook${content.script.hook}`);
      assert.deepEqual(shown.body, content.script.body);
      assert.equal(shown.cta, `Call to action${content.script.cta}`);
      assert.equal(shown.score, Number(content.safety_score).toFixed(2));
      assert.deepEqual(shown.flags, content.safety_flags.map((flag: { code: string }) => flag.code));
      assert.equal(shown.cost, `$${Number(usage.totals.estimated_cost_usd).toFixed(4)}`);
      assert.match(shown.calls ?? '', new RegExp(`· ${usage.totals.calls} provider calls?`));
      assert.equal(new URL(shown.video ?? '').pathname, new URL(content.video_url).pathname, 'the video plays from its presigned link');
    }

    // Approve one for a time: the browser's own clock and time zone fill the field, two hours ahead.
    const approveCard = `article[data-content-id="${toApprove}"]`;
    const scheduledAt = await page.$eval(`${approveCard} input[name=scheduled_at]`, (input) => {
      const at = new Date(Date.now() + 2 * 3600_000);
      at.setSeconds(0, 0);
      // The same instant as local wall-clock time, as the field takes it.
      input.value = new Date(at.getTime() - at.getTimezoneOffset() * 60_000).toISOString().slice(0, 16);
      return at.toISOString();
    });
    await page.click(`${approveCard} form.approve button`);
    await page.waitForSelector(`${approveCard} .status.approved::-p-text(Approved)`);
    const upload = await waitFor('the approved content to wait for its time on the channel', async () => {
      const res = await api.request('GET', `/contents/${toApprove}/uploads`, { token: editor() });
      return res.body.items[0]?.status === 'scheduled' && res.body.items[0];
    });
    assert.deepEqual({ channel: upload.channel.id, scheduled_at: upload.scheduled_at }, { channel: channelId, scheduled_at: scheduledAt });
    const publishing = await api.request('GET', `/contents/${toApprove}/progress`, { token: editor() });
    assert.deepEqual([publishing.body.progress.running, publishing.body.progress.step], [true, 'publishing']);

    // Reject the other with a reason: its run ends, the video stays ready and unpublished.
    const rejectCard = `article[data-content-id="${toReject}"]`;
    await page.type(`${rejectCard} input[name=reason]`, '자막이 화면을 가립니다');
    await page.click(`${rejectCard} form.reject button`);
    await page.waitForSelector(`${rejectCard} .status.rejected::-p-text(Rejected)`);
    const ended = await waitFor('the rejected run to end', async () => {
      const res = await api.request('GET', `/contents/${toReject}/progress`, { token: editor() });
      return !res.body.progress.running && res.body.progress;
    }, 60_000);
    assert.deepEqual([ended.content_status, ended.workflow.status], ['ready', 'completed']);
    assert.deepEqual((await api.request('GET', `/contents/${toReject}/uploads`, { token: editor() })).body.items, []);
    const buttons = await page.$$eval('article.card button', (nodes) => nodes.map((node) => node.disabled));
    assert.ok(buttons.every(Boolean), 'a decided card takes no second decision');

    await waitFor('the queue to empty', async () => (await awaiting()).length === 0, 30_000);
    await page.click('#refresh');
    await page.waitForSelector('#app p.note::-p-text(Nothing awaits approval)');

    assert.deepEqual(problems, [], 'no script error and no Content-Security-Policy violation');
    const store = new URL(await api.ctx.db.objects.presignedGetUrl('x')).origin;
    assert.deepEqual([...requested].sort(), [api.baseUrl, store].sort(), 'the page loads nothing but the API and the store');
  });
});

async function signIn(page: Page, email: string, password: string): Promise<void> {
  for (const [name, value] of [['email', email], ['password', password]] as const) {
    await page.$eval(`#signin input[name=${name}]`, (input) => {
      input.value = '';
    });
    await page.type(`#signin input[name=${name}]`, value);
  }
  await page.click('#signin button[type=submit]');
}
