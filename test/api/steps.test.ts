import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { DeleteObjectCommand } from '@aws-sdk/client-s3';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { QueryTypes } from 'sequelize';
import { EMPTY_SCRIPT } from '../../db/models';
import { probe } from '../../providers/ffmpeg/runner';
import { startWorkers, type RunningWorkers } from '../../worker';
import { createApiHarness, type ApiHarness } from '../support/api';
import { scratchDir } from '../support/scratch-dir';
import { createPeople, type People } from '../support/tenants';
import { waitFor } from '../support/wait';

const run = promisify(execFile);

/**
 * The single steps through the API, end to end on real workers against the test stack: speech with
 * word timings, captions from them (and from given words), a render of two scenes over that speech,
 * their credits, jobs and failures, and every kind of bad input answered 4xx.
 */
describe('single steps as API calls', () => {
  const scratch = scratchDir('steps-');
  let api: ApiHarness;
  let people: People;
  let projectId: string;
  let otherProjectId: string;
  let orchestration: RunningWorkers;
  let media: RunningWorkers;
  /** The speech step of the first test, which the captions and render tests use. */
  let speech: { id: string; duration: number; words: { text: string; start: number; end: number; segment: number }[] };

  const editor = () => people.as.editor.token;
  const post = (kind: string, body: unknown, options: { project?: string; token?: string; headers?: Record<string, string> } = {}) =>
    api.request('POST', `/projects/${options.project ?? projectId}/steps/${kind}`, { token: options.token ?? editor(), body, headers: options.headers ?? {} });

  /** Polls the step until it has ended; returns what GET /steps/:id then shows. */
  async function ended(id: string, token = people.as.viewer.token) {
    return waitFor(`step ${id} to end`, async () => {
      const res = await api.request('GET', `/steps/${id}`, { token });
      assert.equal(res.status, 200, res.text);
      return res.body.step.status === 'running' ? undefined : res.body.step;
    }, 180_000, 300);
  }

  async function ledger(contentId: string) {
    return api.ctx.sequelize.query<{ transaction_type: string; credits_amount: number; description: string }>(
      'SELECT transaction_type, credits_amount, description FROM credit_transactions WHERE content_id = :contentId ORDER BY created_at',
      { replacements: { contentId }, type: QueryTypes.SELECT },
    );
  }

  async function jobs(contentId: string) {
    return api.ctx.sequelize.query<{ id: string; job_type: string; status: string; error_message: string | null }>(
      'SELECT id, job_type, status, error_message FROM content_jobs WHERE content_id = :contentId ORDER BY created_at',
      { replacements: { contentId }, type: QueryTypes.SELECT },
    );
  }

  async function download(url: string, name: string): Promise<string> {
    const res = await fetch(url);
    assert.equal(res.status, 200, `${name}: ${res.status}`);
    const path = join(scratch.path, name);
    await writeFile(path, Buffer.from(await res.arrayBuffer()));
    return path;
  }

  async function fetchText(url: string): Promise<string> {
    const res = await fetch(url);
    assert.equal(res.status, 200);
    return res.text();
  }

  /** Presigns an upload of the project and PUTs `bytes` to it; returns its key. */
  async function upload(kind: string, contentType: string, bytes: Buffer, project = projectId, token = editor()): Promise<string> {
    const answer = await api.request('POST', `/projects/${project}/uploads`, { token, body: { kind, content_type: contentType, size_bytes: bytes.length } });
    assert.equal(answer.status, 201, answer.text);
    const put = await fetch(answer.body.upload_url, { method: 'PUT', body: new Uint8Array(bytes), headers: { 'content-type': contentType } });
    assert.equal(put.status, 200, await put.text());
    return answer.body.key;
  }

  /** The mean colour of the video's frame at `atSec`, as [r, g, b]. */
  async function meanColour(path: string, atSec: number): Promise<number[]> {
    const { stdout } = await run('ffmpeg', ['-v', 'error', '-ss', String(atSec), '-i', path, '-frames:v', '1', '-vf', 'scale=1:1:flags=area', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-'], { encoding: 'buffer' });
    return [...stdout.subarray(0, 3)];
  }

  const startMedia = () => startWorkers(api.ctx, ['media']);

  before(async () => {
    api = await createApiHarness({ TEMPORAL_MEDIA_TASK_QUEUE: `steps-media-${randomBytes(3).toString('hex')}` });
    people = await createPeople(api, { plan: 'pro' });
    const project = (organizationId: string, name: string) => api.ctx.models.Project.create({ organization_id: organizationId, name, vertical: 'tech', language: 'ko' } as never);
    projectId = (await project(people.orgId, 'Steps')).id;
    otherProjectId = (await project(people.otherOrgId, 'Rival steps')).id;
    Runtime.install({ logger: new DefaultLogger('WARN') });
    orchestration = await startWorkers(api.ctx, ['orchestration']);
    media = await startMedia();
  });
  after(async () => {
    await Promise.allSettled([orchestration?.shutdown(), media?.shutdown()]);
    api.assertNoLeaks();
    await api.close();
  });

  it('speaks text in S3 with word timings for one credit, recorded as a tts job, replayed for the same Idempotency-Key', async () => {
    const body = { segments: ['Water comes first.', 'Coffee can wait.'], language: 'en' };
    const key = `speech-${randomUUID()}`;
    const started = await post('speech', body, { headers: { 'idempotency-key': key } });
    assert.equal(started.status, 202, started.text);
    const { id } = started.body.step;
    assert.equal(started.headers.get('location'), `/steps/${id}`);
    assert.deepEqual(
      { kind: started.body.step.kind, status: started.body.step.status, credits: started.body.step.credits, workflow_id: started.body.step.workflow_id, outputs: started.body.step.outputs },
      { kind: 'speech', status: 'running', credits: 1, workflow_id: `step-${id}`, outputs: null },
    );
    const again = await post('speech', body, { headers: { 'idempotency-key': key } });
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.equal(again.body.step.id, id, 'the same step, not a second one');

    const step = await ended(id);
    assert.equal(step.status, 'completed', JSON.stringify(step));
    assert.equal(step.error, null);
    assert.deepEqual(step.request, { language: 'en' });
    const { outputs } = step;
    const audio = await probe(await download(outputs.audio_url, 'voice.m4a'));
    assert.ok(audio.streams.some((s) => s.type === 'audio'), 'an audio stream');
    assert.ok(audio.durationSec > 0.5 && Math.abs(audio.durationSec - outputs.duration) < 0.1, `ffprobe ${audio.durationSec} s, step ${outputs.duration} s`);
    assert.equal(outputs.segments.length, 2);
    assert.ok(outputs.segments[0].start >= 0 && outputs.segments[0].end <= outputs.segments[1].start + 0.001 && outputs.segments[1].end <= outputs.duration + 0.001, JSON.stringify(outputs.segments));
    assert.deepEqual(outputs.words.map((w: { text: string }) => w.text), ['Water', 'comes', 'first.', 'Coffee', 'can', 'wait.']);
    assert.deepEqual(outputs.words.map((w: { segment: number }) => w.segment), [0, 0, 0, 1, 1, 1]);
    for (const [i, word] of (outputs.words as { start: number; end: number }[]).entries()) {
      assert.ok(word.start < word.end && word.end <= outputs.duration + 0.001, `word ${i}: ${JSON.stringify(word)}`);
      if (i > 0) assert.ok(word.start >= outputs.words[i - 1].start, `word ${i} starts in order`);
    }
    speech = { id, duration: outputs.duration, words: outputs.words };

    assert.deepEqual((await ledger(id)).map((row) => [row.transaction_type, row.credits_amount, row.description]), [['usage', -1, `speechStep run ${(await api.ctx.temporal.workflow.getHandle(`step-${id}`).describe()).runId}`]]);
    const recorded = await jobs(id);
    assert.deepEqual(recorded.map((job) => [job.job_type, job.status]), [['tts', 'completed']]);
    const usages = await api.ctx.models.ApiUsage.findAll({ where: { content_id: id } });
    assert.ok(usages.length >= 1 && usages.every((usage) => usage.job_id === recorded[0]!.id), 'the speech call is in api_usages, on its job');

    const listed = await api.request('GET', `/projects/${projectId}/steps?kind=speech`, { token: people.as.viewer.token });
    assert.deepEqual(listed.body.items.map((item: { id: string; status: string }) => [item.id, item.status]), [[id, 'completed']]);
    const contents = await api.request('GET', `/contents?project_id=${projectId}`, { token: people.as.viewer.token });
    assert.deepEqual(contents.body.items, [], 'a step is not listed among the contents');
    const generate = await api.request('POST', `/contents/${id}/generate`, { token: editor() });
    assert.equal(generate.status, 409);
    assert.equal(generate.body.error.code, 'single_step');
    assert.equal((await api.request('POST', `/steps/${id}/cancel`, { token: editor() })).status, 409, 'an ended step cannot be cancelled');
  });

  it('writes captions as SubRip, WebVTT and ASS whose cues start at the words’ times, for no credit, as a captions job', async () => {
    const fromSpeech = await post('captions', { speech_id: speech.id, mode: 'classic' });
    assert.equal(fromSpeech.status, 202, fromSpeech.text);
    assert.equal(fromSpeech.body.step.credits, 0);
    const step = await ended(fromSpeech.body.step.id);
    assert.equal(step.status, 'completed', JSON.stringify(step));
    const srt = await fetchText(step.outputs.srt_url);
    const clock = (sec: number) => new Date(Math.round(sec * 1000)).toISOString().slice(11, 23);
    const starts = [...srt.matchAll(/^(\d\d:\d\d:\d\d),(\d{3}) -->/gm)].map(([, hms, ms]) => `${hms}.${ms}`);
    assert.equal(starts.length, step.outputs.cues);
    assert.equal(starts[0], clock(speech.words[0]!.start), 'the first cue starts with the first word');
    const wordStarts = new Set(speech.words.map((word) => clock(word.start)));
    assert.ok(starts.every((start) => wordStarts.has(start)), `every cue starts at a word: ${starts.join(', ')}`);
    assert.deepEqual(srt.split('\n\n').map((cue) => cue.split('\n').slice(2).join(' ').trim()).filter(Boolean), ['Water comes first.', 'Coffee can wait.'], 'a cue ends with a sentence');
    const vtt = await fetchText(step.outputs.vtt_url);
    assert.match(vtt, /^WEBVTT\n/);
    assert.equal([...vtt.matchAll(/^(\d\d:\d\d:\d\d\.\d{3}) -->/gm)].map(([, start]) => start).join(), starts.join());
    const ass = await fetchText(step.outputs.ass_url);
    assert.match(ass, /PlayResX: 1080\nPlayResY: 1920/, "the template's frame");
    assert.equal((ass.match(/^Dialogue:/gm) ?? []).length, starts.length, 'classic: one event per cue');
    assert.deepEqual(await ledger(step.id), [], 'captions cost nothing');
    assert.deepEqual((await jobs(step.id)).map((job) => [job.job_type, job.status]), [['captions', 'completed']]);

    const words = [
      { text: 'Hello', start: 0.5, end: 0.9 },
      { text: 'world.', start: 1, end: 1.4 },
      { text: 'Again', start: 3, end: 3.5 },
    ];
    const given = await ended((await post('captions', { words, language: 'en', mode: 'karaoke' })).body.step.id);
    assert.equal(given.status, 'completed', JSON.stringify(given));
    assert.equal(await fetchText(given.outputs.srt_url), '1\n00:00:00,500 --> 00:00:01,400\nHello world.\n\n2\n00:00:03,000 --> 00:00:03,500\nAgain\n');
    assert.equal(await fetchText(given.outputs.vtt_url), 'WEBVTT\n\n00:00:00.500 --> 00:00:01.400\nHello world.\n\n00:00:03.000 --> 00:00:03.500\nAgain\n');
    const karaoke = (await fetchText(given.outputs.ass_url)).match(/^Dialogue: .*$/gm) ?? [];
    assert.deepEqual(karaoke.map((line) => line.split(',').slice(1, 3).join(' ')), ['0:00:00.50 0:00:01.00', '0:00:01.00 0:00:01.40', '0:00:03.00 0:00:03.50'], 'karaoke: one event per spoken word');
  });

  it('renders two scenes (an uploaded picture, a card) over the speech into an MP4 as long as the voice, for one credit', async () => {
    const picturePath = join(scratch.path, 'red.png');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=360x640', '-frames:v', '1', picturePath]);
    const picture = await upload('image', 'image/png', await readFile(picturePath));
    const started = await post('render', { speech_id: speech.id, scenes: [{ text: 'Water comes first.', media_key: picture }, { text: 'Coffee can wait.' }] });
    assert.equal(started.status, 202, started.text);
    const step = await ended(started.body.step.id);
    assert.equal(step.status, 'completed', JSON.stringify(step));
    const { outputs } = step;
    const videoPath = await download(outputs.video_url, 'video.mp4');
    const video = await probe(videoPath);
    assert.ok(video.streams.some((s) => s.type === 'video') && video.streams.some((s) => s.type === 'audio'));
    assert.ok(Math.abs(video.durationSec - speech.duration) < 0.2, `video ${video.durationSec} s, voice ${speech.duration} s`);
    assert.ok(Math.abs(outputs.duration - video.durationSec) < 0.05);
    assert.equal(outputs.resolution, '1080x1920');
    assert.ok(outputs.thumbnail_url && outputs.captions_url, 'a thumbnail and the captions beside the video');
    assert.match(await fetchText(outputs.captions_url), /^WEBVTT\n\n\d\d:\d\d:\d\d\.\d{3} -->/);
    const [r, g, b] = await meanColour(videoPath, 0.3);
    assert.ok(r! > 150 && g! < 110 && b! < 110, `the first scene shows the uploaded red picture (mean ${r}, ${g}, ${b})`);
    const second = await meanColour(videoPath, speech.duration - 0.3);
    assert.ok(!(second[0]! > 150 && second[1]! < 110), `the second scene is a card, not the picture (mean ${second.join(', ')})`);

    assert.deepEqual((await ledger(step.id)).map((row) => [row.transaction_type, row.credits_amount]), [['usage', -1]]);
    assert.deepEqual((await jobs(step.id)).map((job) => [job.job_type, job.status]), [['image_gen', 'completed'], ['render', 'completed']]);
  });

  it('renders over an uploaded voice, the scenes timed by their lengths and no captions; scenes longer than the voice fail and are refunded', async () => {
    const voicePath = join(scratch.path, 'voice.wav');
    await run('ffmpeg', ['-v', 'error', '-f', 'lavfi', '-i', 'sine=frequency=440:duration=3', voicePath]);
    const voice = await upload('audio', 'audio/wav', await readFile(voicePath));
    const started = await post('render', { audio_key: voice, scenes: [{ text: 'First scene.', duration: 1.5 }, { text: 'Second scene.' }] });
    assert.equal(started.status, 202, started.text);
    const step = await ended(started.body.step.id);
    assert.equal(step.status, 'completed', JSON.stringify(step));
    assert.deepEqual(step.request, { language: 'ko', audio_key: voice, scene_durations: [1.5] });
    const video = await probe(await download(step.outputs.video_url, 'voiced.mp4'));
    assert.ok(Math.abs(video.durationSec - 3) < 0.2, `video ${video.durationSec} s for a 3 s voice`);
    assert.equal(step.outputs.captions_url, null, 'no words, no captions');

    const tooLong = await ended((await post('render', { audio_key: voice, scenes: [{ text: 'First scene.', duration: 3.5 }, { text: 'Second scene.' }] })).body.step.id);
    assert.equal(tooLong.status, 'failed');
    assert.match(tooLong.error, /last 3\.5 s, but the voice lasts only 3 s/);
    assert.deepEqual((await ledger(tooLong.id)).map((row) => [row.transaction_type, row.credits_amount]), [['usage', -1], ['refund', 1]]);
  });

  it('gives the credit back exactly once when a render fails (its picture vanished) or a step is cancelled, and fails at once without credits', async () => {
    await media.shutdown();
    const picture = await upload('image', 'image/png', Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64'));
    const doomed = await post('render', { speech_id: speech.id, scenes: [{ text: 'Water comes first.' }, { text: 'Coffee can wait.', media_key: picture }] });
    assert.equal(doomed.status, 202, doomed.text);
    await api.ctx.db.objects.client.send(new DeleteObjectCommand({ Bucket: api.ctx.db.objects.bucket, Key: picture }));
    const cancelled = await post('speech', { text: 'This is never spoken.', language: 'en' });
    assert.equal(cancelled.status, 202, cancelled.text);
    await waitFor('the cancelled step to be charged', async () => (await ledger(cancelled.body.step.id)).length > 0);
    const cancel = await api.request('POST', `/steps/${cancelled.body.step.id}/cancel`, { token: editor() });
    assert.equal(cancel.status, 202, cancel.text);
    media = await startMedia();

    const failed = await ended(doomed.body.step.id);
    assert.equal(failed.status, 'failed');
    assert.match(failed.error, /no longer in the bucket/);
    assert.deepEqual((await ledger(failed.id)).map((row) => [row.transaction_type, row.credits_amount]), [['usage', -1], ['refund', 1]]);
    assert.deepEqual((await jobs(failed.id)).map((job) => [job.job_type, job.status]), [['image_gen', 'completed'], ['render', 'failed']]);
    assert.match((await jobs(failed.id))[1]!.error_message ?? '', /no longer in the bucket/);

    const stopped = await ended(cancelled.body.step.id);
    assert.deepEqual([stopped.status, stopped.error], ['cancelled', 'cancelled']);
    assert.deepEqual((await ledger(stopped.id)).map((row) => [row.transaction_type, row.credits_amount]), [['usage', -1], ['refund', 1]]);

    await api.ctx.models.Subscription.update({ credits_remaining: 0 }, { where: { organization_id: people.otherOrgId } });
    const broke = await ended((await post('speech', { text: 'No credits.' }, { project: otherProjectId, token: people.as.other.token })).body.step.id, people.as.other.token);
    assert.equal(broke.status, 'failed');
    assert.match(broke.error, /no credits left/);
    assert.deepEqual(await ledger(broke.id), []);
    assert.deepEqual(await jobs(broke.id), [], 'nothing ran');
  });

  it('answers every bad input with a 4xx naming it, and another tenant’s step with 404', async () => {
    const refused = async (kind: string, body: unknown, status: number, field: string, message?: RegExp) => {
      const res = await post(kind, body);
      assert.equal(res.status, status, `${kind} ${JSON.stringify(body).slice(0, 120)}: ${res.text}`);
      if (field) assert.ok(res.body.error.details?.[field] !== undefined, `${field} named: ${res.text}`);
      if (message) assert.match(res.body.error.details?.[field] ?? res.body.error.message, message);
    };
    const rivalPicture = await upload('image', 'image/png', Buffer.from('png'), otherProjectId, people.as.other.token);
    const unsent = (await api.request('POST', `/projects/${projectId}/uploads`, { token: editor(), body: { kind: 'image', content_type: 'image/png', size_bytes: 10 } })).body.key as string;
    const music = await upload('audio', 'audio/mpeg', Buffer.from('mp3'));
    const scenes = [{ text: 'Water comes first.' }, { text: 'Coffee can wait.' }];
    const rivalSpeech = await api.ctx.models.Content.create({ project_id: otherProjectId, title: '', script: EMPTY_SCRIPT, source_type: 'api', step: 'speech', status: 'ready', source_data: { language: 'en' } } as never);

    await refused('speech', { text: '   ' }, 400, 'body.text', /empty/);
    await refused('speech', {}, 400, 'body');
    await refused('speech', { text: 'a', segments: ['b'] }, 400, 'body');
    await refused('speech', { text: 'x'.repeat(5001) }, 400, 'body.text');
    await refused('speech', { segments: Array.from({ length: 15 }, () => 'one') }, 400, 'body.segments');
    await refused('speech', { segments: ['x'.repeat(2000), 'y'.repeat(2000), 'z'.repeat(1500)] }, 400, 'body.segments', /5500 characters/);
    await refused('speech', { text: 'Hi', language: 'xx' }, 400, 'body.language');
    await refused('speech', { text: 'Hi', voice: 'en-us' }, 403, 'body.voice');
    await refused('captions', { speech_id: randomUUID() }, 400, 'body.speech_id', /not a completed speech step/);
    await refused('captions', { speech_id: rivalSpeech.id }, 400, 'body.speech_id', /not a completed speech step/);
    await refused('captions', { speech_id: speech.id, language: 'en' }, 400, 'body');
    await refused('captions', { words: [{ text: 'b', start: 2, end: 3 }, { text: 'a', start: 1, end: 1.5 }] }, 400, 'body.words.1.start', /before the word before it/);
    await refused('captions', { words: [{ text: 'a', start: 2, end: 1 }] }, 400, 'body.words.0.end');
    await refused('captions', { words: [] }, 400, 'body.words');
    await refused('captions', { words: [{ text: 'a', start: 0, end: 1 }], mode: 'marquee' }, 400, 'body.mode');
    await refused('render', { speech_id: speech.id, scenes: [{ text: 'one' }] }, 400, 'body.scenes', /2 segments/);
    await refused('render', { speech_id: speech.id, scenes: Array.from({ length: 15 }, () => ({ text: 'one' })) }, 400, 'body.scenes');
    await refused('render', { speech_id: speech.id, scenes: [{ text: 'a', media_key: rivalPicture }, { text: 'b' }] }, 400, 'body.scenes.0.media_key', /not an upload/);
    await refused('render', { speech_id: speech.id, scenes: [{ text: 'a' }, { text: 'b', media_key: 'orgs/x/projects/y/uploads/z.png' }] }, 400, 'body.scenes.1.media_key', /not an upload/);
    await refused('render', { speech_id: speech.id, scenes: [{ text: 'a', media_key: unsent }, { text: 'b' }] }, 400, 'body.scenes.0.media_key', /no uploaded file/);
    await refused('render', { speech_id: speech.id, scenes: [{ text: 'a', media_key: music }, { text: 'b' }] }, 400, 'body.scenes.0.media_key', /audio upload/);
    await refused('render', { speech_id: speech.id, scenes: [{ text: 'a', duration: 2 }, { text: 'b' }] }, 400, 'body.scenes.0.duration');
    await refused('render', { audio_key: music, scenes }, 400, 'body.scenes.0.duration', /required with audio_key/);
    await refused('render', { audio_key: music, scenes: [{ text: 'a', duration: 1 }, { text: 'b', duration: 1 }] }, 400, 'body.scenes.1.duration', /last scene/);
    await refused('render', { audio_key: rivalPicture, scenes: [{ text: 'a' }] }, 400, 'body.audio_key');
    await refused('render', { speech_id: speech.id, audio_key: music, scenes }, 400, 'body');
    await refused('render', { speech_id: speech.id, scenes: [{ text: '' }, { text: 'b' }] }, 400, 'body.scenes.0.text');

    assert.equal((await post('speech', { text: 'Hi' }, { token: people.as.viewer.token })).status, 403, 'a viewer runs no step');
    assert.equal((await post('speech', { text: 'Hi' }, { token: people.as.outsider.token })).status, 404, 'nor a stranger');
    assert.equal((await api.request('GET', `/steps/${speech.id}`, { token: people.as.other.token })).status, 404, "another tenant's step");
    assert.equal((await api.request('GET', `/steps/${randomUUID()}`, { token: editor() })).status, 404);
    const production = await api.ctx.models.Content.create({ project_id: projectId, title: 'A video', script: EMPTY_SCRIPT, source_type: 'manual' } as never);
    assert.equal((await api.request('GET', `/steps/${production.id}`, { token: editor() })).status, 404, 'a production is not a step');
    assert.equal((await api.request('POST', `/steps/${speech.id}/cancel`, { token: people.as.other.token })).status, 404);
    assert.equal((await api.request('GET', `/projects/${projectId}/steps?kind=video`, { token: editor() })).status, 400);
  });
});
