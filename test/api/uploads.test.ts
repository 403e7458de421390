import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createApiHarness, type ApiHarness } from '../support/api';
import { createPeople, createProject, rawRow, type People } from '../support/tenants';

const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');
const SCRIPT = { hook: 'Water first.', body: ['Drink a glass when you wake up.', 'Then coffee.'], cta: 'Try it tomorrow!' };

describe("the creator's own media: presigned uploads and a content's media", () => {
  let api: ApiHarness;
  let people: People;
  let projectId: string;
  let otherProjectId: string;

  before(async () => {
    api = await createApiHarness();
    people = await createPeople(api);
    projectId = await createProject(api, { organization_id: people.orgId }, 'Own media');
    otherProjectId = await createProject(api, { organization_id: people.otherOrgId }, 'Rival media');
  });
  after(async () => {
    api.assertNoLeaks();
    await api.close();
  });

  async function presign(body: unknown, project = projectId, token = people.as.editor.token) {
    return api.request('POST', `/projects/${project}/uploads`, { token, body });
  }

  /** Presigns and PUTs `bytes` with `sentType` (the signed type unless told otherwise); returns the key. */
  async function upload(kind: string, contentType: string, bytes: Buffer, project = projectId, token = people.as.editor.token): Promise<string> {
    const answer = await presign({ kind, content_type: contentType, size_bytes: bytes.length }, project, token);
    assert.equal(answer.status, 201, answer.text);
    const put = await fetch(answer.body.upload_url, { method: 'PUT', body: new Uint8Array(bytes), headers: { 'content-type': contentType } });
    assert.equal(put.status, 200, await put.text());
    return answer.body.key;
  }

  async function newContent(): Promise<string> {
    const created = await api.request('POST', `/projects/${projectId}/contents`, { token: people.as.editor.token, body: { title: 'Own media', script: SCRIPT } });
    assert.equal(created.status, 201, created.text);
    return created.body.content.id;
  }

  const patch = (id: string, body: unknown) => api.request('PATCH', `/contents/${id}`, { token: people.as.editor.token, body });

  it("answers a short-lived PUT URL under the project's uploads folder that takes the file into S3 with its type", async () => {
    const answer = await presign({ kind: 'image', content_type: 'image/png', size_bytes: PNG.length });
    assert.equal(answer.status, 201, answer.text);
    const { key, upload_url: url, expires_at: expiresAt } = answer.body;
    assert.match(key, new RegExp(`^orgs/${people.orgId}/projects/${projectId}/uploads/[0-9a-f-]{36}\\.png$`));
    const ttl = Date.parse(expiresAt) - Date.now();
    assert.ok(ttl > 14 * 60_000 && ttl <= 15 * 60_000, `expires in ${ttl} ms`);

    const wrongType = await fetch(url, { method: 'PUT', body: new Uint8Array(PNG), headers: { 'content-type': 'text/html' } });
    assert.equal(wrongType.status, 403, 'the URL is bound to the content type');
    assert.equal(await api.ctx.db.objects.head(key), undefined);

    const put = await fetch(url, { method: 'PUT', body: new Uint8Array(PNG), headers: { 'content-type': 'image/png' } });
    assert.equal(put.status, 200, await put.text());
    assert.deepEqual(await api.ctx.db.objects.head(key), { contentType: 'image/png', sizeBytes: PNG.length });
    assert.deepEqual(await api.ctx.db.objects.getBuffer(key), PNG);
  });

  it('refuses a type the kind does not take, a file too large, a viewer and a stranger', async () => {
    const badType = await presign({ kind: 'image', content_type: 'video/mp4', size_bytes: 10 });
    assert.equal(badType.status, 400);
    assert.ok(badType.body.error.details['body.content_type'], badType.text);
    const tooLarge = await presign({ kind: 'audio', content_type: 'audio/mpeg', size_bytes: 51 * 1024 * 1024 });
    assert.equal(tooLarge.status, 400);
    assert.ok(tooLarge.body.error.details['body.size_bytes'], tooLarge.text);
    const body = { kind: 'image', content_type: 'image/png', size_bytes: 10 };
    assert.equal((await presign(body, projectId, people.as.viewer.token)).status, 403);
    assert.equal((await presign(body, projectId, people.as.outsider.token)).status, 404);
  });

  it("stores a content's media as user media_assets: a clip for a scene and the music track, shown by GET and replaced or removed by PATCH", async () => {
    const contentId = await newContent();
    const clip = await upload('video', 'video/mp4', Buffer.from('not really an mp4'));
    const music = await upload('audio', 'audio/mpeg', Buffer.from('not really an mp3'));
    const changed = await patch(contentId, { media: [{ key: music, volume: 0.4 }, { key: clip, scene: 1 }] });
    assert.equal(changed.status, 200, changed.text);
    const expected = [
      { type: 'video', url: api.ctx.db.objects.urlFor(clip), source: 'user', timestamp: 0, duration: 0, key: clip, scene: 1 },
      { type: 'audio', url: api.ctx.db.objects.urlFor(music), source: 'user', timestamp: 0, duration: 0, key: music, volume: 0.4 },
    ];
    assert.deepEqual(changed.body.content.media_assets, expected);
    const read = await api.request('GET', `/contents/${contentId}`, { token: people.as.viewer.token });
    assert.deepEqual(read.body.content.media_assets, expected);
    assert.deepEqual((await rawRow(api, 'contents', contentId) as { media_assets: unknown }).media_assets, expected);

    const musicOnly = await patch(contentId, { media: [{ key: music }] });
    assert.deepEqual(musicOnly.body.content.media_assets.map((asset: { key: string; volume: number }) => [asset.key, asset.volume]), [[music, 0.25]], 'the default volume');
    const removed = await patch(contentId, { media: null });
    assert.deepEqual(removed.body.content.media_assets, []);
  });

  it('refuses, naming the field, a key of another project, a key with no file, a file of the wrong kind or type, a scene the script lacks', async () => {
    const contentId = await newContent();
    const picture = await upload('image', 'image/png', PNG);
    const rivalPicture = await upload('image', 'image/png', PNG, otherProjectId, people.as.other.token);
    const missing = (await presign({ kind: 'image', content_type: 'image/png', size_bytes: 10 })).body.key as string;
    // An object at an upload key whose type is not an image's (as a PUT outside the presigned URL would leave).
    const mislabelled = (await presign({ kind: 'image', content_type: 'image/jpeg', size_bytes: 10 })).body.key as string;
    await api.ctx.db.objects.put(mislabelled, 'text', 'text/plain');

    const cases: [unknown, string, RegExp][] = [
      [[{ key: rivalPicture, scene: 0 }], 'body.media.0.key', /not an upload of this content's project/],
      [[{ key: 'orgs/x/projects/y/uploads/z.png', scene: 0 }], 'body.media.0.key', /not an upload/],
      [[{ key: picture, scene: 0 }, { key: missing, scene: 1 }], 'body.media.1.key', /no uploaded file/],
      [[{ key: mislabelled, scene: 0 }], 'body.media.0.key', /text\/plain/],
      [[{ key: picture }], 'body.media.0.key', /image upload; this place takes audio/],
      [[{ key: picture, scene: 4 }], 'body.media.0.scene', /4 scenes/],
      [[{ key: picture, scene: 0, volume: 0.5 }], 'body.media.0.volume', /not allowed/],
      [[{ key: picture, scene: 0 }, { key: picture, scene: 0 }], 'body.media.1', /scene twice/],
    ];
    for (const [media, field, message] of cases) {
      const refused = await patch(contentId, { media });
      assert.equal(refused.status, 400, `${JSON.stringify(media)}: ${refused.text}`);
      assert.match(refused.body.error.details[field] ?? '', message, `${field}: ${refused.text}`);
    }
    assert.deepEqual((await rawRow(api, 'contents', contentId) as { media_assets: unknown }).media_assets, [], 'nothing stored');
  });

  it("takes a project's music only from its own audio uploads", async () => {
    const music = await upload('audio', 'audio/wav', Buffer.from('RIFF....WAVE'));
    const picture = await upload('image', 'image/png', PNG);
    const set = await api.request('PATCH', `/projects/${projectId}`, { token: people.as.editor.token, body: { style_preset: { music_key: music, music_volume: 0.1 } } });
    assert.equal(set.status, 200, set.text);
    assert.deepEqual([set.body.project.style_preset.music_key, set.body.project.style_preset.music_volume], [music, 0.1]);
    const notAudio = await api.request('PATCH', `/projects/${projectId}`, { token: people.as.editor.token, body: { style_preset: { music_key: picture } } });
    assert.equal(notAudio.status, 400);
    assert.match(notAudio.body.error.details['body.style_preset.music_key'], /image upload/);
    const tooLoud = await api.request('PATCH', `/projects/${projectId}`, { token: people.as.editor.token, body: { style_preset: { music_key: music, music_volume: 2 } } });
    assert.equal(tooLoud.status, 400);
    assert.ok(tooLoud.body.error.details['body.style_preset.music_volume'], tooLoud.text);
    const created = await api.request('POST', '/projects', { token: people.as.editor.token, body: { name: 'New', vertical: 'tech', organization_id: people.orgId, style_preset: { music_key: music } } });
    assert.equal(created.status, 400);
    assert.ok(created.body.error.details['body.style_preset.music_key'], created.text);
  });
});
