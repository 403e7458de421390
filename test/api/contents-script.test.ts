import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EMPTY_SCRIPT } from '../../db/models';
import type { JsonSchema } from '../../api/openapi';
import { createApiHarness, type ApiHarness } from '../support/api';
import { createPeople, createProject, rawRow, type People } from '../support/tenants';

const SCRIPT = { hook: '  물 한 잔이 아침을 바꿉니다.  ', body: ['일어나자마자 마시면 몸이 깨어납니다.', '카페인보다 먼저 수분을 채우세요.'], cta: '내일 아침 바로 해 보세요!' };

/** The script the API stores for SCRIPT: trimmed parts, full_text one line per part, marked as the creator's. */
const STORED = {
  hook: '물 한 잔이 아침을 바꿉니다.',
  body: SCRIPT.body,
  cta: SCRIPT.cta,
  full_text: '물 한 잔이 아침을 바꿉니다.\n일어나자마자 마시면 몸이 깨어납니다.\n카페인보다 먼저 수분을 채우세요.\n내일 아침 바로 해 보세요!',
  source: 'creator',
};

describe("content routes with the creator's script", () => {
  let api: ApiHarness;
  let people: People;
  let projectId: string;

  before(async () => {
    api = await createApiHarness();
    people = await createPeople(api);
    projectId = await createProject(api, { organization_id: people.orgId }, 'Morning habits');
  });
  after(async () => {
    api.assertNoLeaks();
    await api.close();
  });

  async function create(body: unknown) {
    return api.request('POST', `/projects/${projectId}/contents`, { token: people.as.editor.token, body });
  }

  async function patch(id: string, body: unknown) {
    return api.request('PATCH', `/contents/${id}`, { token: people.as.editor.token, body });
  }

  async function storedScript(id: string): Promise<unknown> {
    return ((await rawRow(api, 'contents', id)) as { script: unknown }).script;
  }

  it('creates a draft with a script: parts trimmed, full_text derived, marked as the creator’s, read back as stored', async () => {
    const created = await create({ title: '아침 물 한 잔', script: SCRIPT, tags: ['건강'] });
    assert.equal(created.status, 201, created.text);
    const { content } = created.body;
    assert.equal(content.title, '아침 물 한 잔');
    assert.deepEqual(content.script, STORED);
    assert.equal(content.status, 'draft');
    assert.equal(content.source_type, 'manual');
    assert.deepEqual(content.tags, ['건강']);
    assert.deepEqual(await storedScript(content.id), STORED);
    const read = await api.request('GET', `/contents/${content.id}`, { token: people.as.viewer.token });
    assert.deepEqual(read.body.content.script, STORED);
  });

  it('splits script_text into scenes: the first sentence the hook, the last the call to action, each one between a body section', async () => {
    const created = await create({
      topic: '아침 습관',
      script_text: '물 한 잔이 아침을 바꿉니다. 일어나자마자 마시면 몸이 깨어납니다\n카페인보다 먼저 수분을 채우세요! 내일 아침 바로 해 보세요',
    });
    assert.equal(created.status, 201, created.text);
    assert.equal(created.body.content.title, '아침 습관', 'the topic names it');
    assert.deepEqual(created.body.content.script, {
      hook: '물 한 잔이 아침을 바꿉니다.',
      body: ['일어나자마자 마시면 몸이 깨어납니다', '카페인보다 먼저 수분을 채우세요!'],
      cta: '내일 아침 바로 해 보세요',
      full_text: '물 한 잔이 아침을 바꿉니다.\n일어나자마자 마시면 몸이 깨어납니다\n카페인보다 먼저 수분을 채우세요!\n내일 아침 바로 해 보세요',
      source: 'creator',
    });

    const two = await create({ title: 'Two lines', script_text: 'Drink water first. Try it tomorrow!' });
    assert.equal(two.status, 201, two.text);
    assert.deepEqual([two.body.content.script.hook, two.body.content.script.body, two.body.content.script.cta], ['Drink water first.', [], 'Try it tomorrow!']);

    const many = await create({ title: 'Many', script_text: ['Hook.', ...Array.from({ length: 26 }, (_, i) => `Point ${i}.`), 'Subscribe.'].join(' ') });
    assert.equal(many.status, 201, many.text);
    const { body } = many.body.content.script;
    assert.equal(body.length, 12, 'at most twelve sections');
    assert.deepEqual(body.join(' ').split(' ').filter((w: string) => w !== 'Point'), Array.from({ length: 26 }, (_, i) => `${i}.`), 'every sentence, in order');
    assert.ok(body.every((section: string) => [2, 3].includes(section.split('Point').length - 1)), 'sections of even size');
  });

  it('names a content with a script from its title, topic or source, and refuses one nothing names (400 naming title)', async () => {
    const fromUrl = await create({ source: { type: 'url', url: 'https://example.com/water' }, script: SCRIPT });
    assert.equal(fromUrl.status, 201, fromUrl.text);
    assert.equal(fromUrl.body.content.title, 'https://example.com/water');
    assert.equal(fromUrl.body.content.source_type, 'url');
    assert.deepEqual(fromUrl.body.content.script, STORED);
    const fromData = await create({ source: { type: 'api', data: { headline: 'Water beats coffee' } }, script: SCRIPT });
    assert.equal(fromData.body.content.title, 'Water beats coffee');

    const count = await api.ctx.models.Content.count();
    for (const body of [{ script: SCRIPT }, { script_text: 'A hook. A call to action.' }, { source: { type: 'manual', data: { text: 'no name' } }, script: SCRIPT }]) {
      const res = await create(body);
      assert.equal(res.status, 400, res.text);
      assert.equal(res.body.error.code, 'validation_failed');
      assert.deepEqual(Object.keys(res.body.error.details), ['body.title'], JSON.stringify(body));
      assert.match(res.body.error.details['body.title'], /required with a script/);
    }
    assert.equal(await api.ctx.models.Content.count(), count, 'nothing created');
  });

  it('answers a bad script or script_text with 400 naming the field, and creates nothing', async () => {
    const cases: [unknown, string[], RegExp?][] = [
      [{ title: 't', script_text: 'Only one sentence here' }, ['body.script_text'], /at least two sentences .* it holds 1/],
      [{ title: 't', script_text: '   ' }, ['body.script_text'], /at least two sentences/],
      [{ title: 't', script_text: 42 }, ['body.script_text']],
      [{ title: 't', script_text: 'nul \u0000. end.' }, ['body.script_text']],
      [{ title: 't', script_text: `${'x'.repeat(401)}. The end.` }, ['body.script_text'], /hook, has 402 characters, more than 400/],
      [{ title: 't', script_text: `Hook. ${'y'.repeat(2001)}. The end.` }, ['body.script_text'], /body section 1 has 2002 characters/],
      [{ title: 't', script_text: 'z. '.repeat(7000) }, ['body.script_text']],
      [{ title: 't', script: SCRIPT, script_text: 'A hook. A call.' }, ['body'], /script, script_text/],
      [{ title: 't', script: { ...SCRIPT, full_text: 'mine' } }, ['body.script.full_text'], /derived from hook, body and cta/],
      [{ title: 't', script: { ...SCRIPT, source: 'creator' } }, ['body.script.source']],
      [{ title: 't', script: { hook: 'only a hook' } }, ['body.script.body', 'body.script.cta']],
      [{ title: 't', script: { ...SCRIPT, hook: '  ' } }, ['body.script.hook']],
      [{ title: 't', script: { ...SCRIPT, hook: 'h'.repeat(401) } }, ['body.script.hook']],
      [{ title: 't', script: { ...SCRIPT, body: ['ok', ''] } }, ['body.script.body.1']],
      [{ title: 't', script: { ...SCRIPT, body: Array.from({ length: 13 }, (_, i) => `scene ${i}`) } }, ['body.script.body']],
      [{ title: 't', script: { ...SCRIPT, body: 'one section' } }, ['body.script.body']],
      [{ title: 't', script: 'hook, body, cta' }, ['body.script']],
      [{ title: 't', script: null }, ['body.script']],
      [{ topic: 'a topic', title: 't', script: SCRIPT }, ['body']],
      [{ title: 'a title alone' }, ['body']],
    ];
    const count = await api.ctx.models.Content.count();
    for (const [body, fields, message] of cases) {
      const res = await create(body);
      const what = JSON.stringify(body).slice(0, 100);
      assert.equal(res.status, 400, `${what}: ${res.text}`);
      assert.equal(res.body.error.code, 'validation_failed', what);
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields.sort(), what);
      if (message) assert.match(res.body.error.details[fields[0]!], message, what);
    }
    assert.equal(await api.ctx.models.Content.count(), count);
  });

  it('edits the script with script or script_text, keeps it through other edits, gives it back to the writer with null, and refuses bad ones unchanged', async () => {
    const draft = await create({ topic: 'Water' });
    const id: string = draft.body.content.id;
    assert.deepEqual(draft.body.content.script, EMPTY_SCRIPT, 'the writer writes a topic’s script');

    const fromText = await patch(id, { script_text: 'Water first. Then coffee. Try it!' });
    assert.equal(fromText.status, 200, fromText.text);
    const fromTextScript = { hook: 'Water first.', body: ['Then coffee.'], cta: 'Try it!', full_text: 'Water first.\nThen coffee.\nTry it!', source: 'creator' };
    assert.deepEqual(fromText.body.content.script, fromTextScript);
    assert.deepEqual(await storedScript(id), fromTextScript);

    const retitled = await patch(id, { title: 'Water before coffee', tags: ['habits'] });
    assert.equal(retitled.status, 200, retitled.text);
    assert.equal(retitled.body.content.title, 'Water before coffee');
    assert.deepEqual(await storedScript(id), fromTextScript, 'an edit of other fields keeps the script');

    const parts = await patch(id, { script: SCRIPT });
    assert.equal(parts.status, 200, parts.text);
    assert.deepEqual(await storedScript(id), STORED);

    const unchanged = await rawRow(api, 'contents', id);
    const bad: [unknown, string[]][] = [
      [{ script_text: 'Just one.' }, ['body.script_text']],
      [{ script: SCRIPT, script_text: 'Two. Sentences.' }, ['body']],
      [{ script: { ...SCRIPT, full_text: 'x' } }, ['body.script.full_text']],
      [{ script: { ...SCRIPT, cta: '' } }, ['body.script.cta']],
      [{ title: 'ok', script_text: ['a list'] }, ['body.script_text']],
    ];
    for (const [body, fields] of bad) {
      const res = await patch(id, body);
      assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
      assert.deepEqual(Object.keys(res.body.error.details).sort(), fields.sort(), JSON.stringify(body));
    }
    assert.deepEqual(await rawRow(api, 'contents', id), unchanged, 'a refused edit changes nothing');

    const cleared = await patch(id, { script: null });
    assert.equal(cleared.status, 200, cleared.text);
    assert.deepEqual(cleared.body.content.script, EMPTY_SCRIPT);
    assert.deepEqual(await storedScript(id), EMPTY_SCRIPT);
    assert.equal(cleared.body.content.title, 'Water before coffee');
  });

  it('documents script and script_text in the OpenAPI bodies of create and edit', async () => {
    const res = await api.request('GET', '/openapi.json');
    assert.equal(res.status, 200);
    const bodyOf = (path: string, method: string): JsonSchema => res.body.paths[path][method].requestBody.content['application/json'].schema;
    for (const [path, method] of [['/projects/{projectId}/contents', 'post'], ['/contents/{id}', 'patch']] as const) {
      const schema = bodyOf(path, method);
      const script = schema.properties?.script;
      assert.ok(script, `${method} ${path}: script`);
      assert.ok([script.type].flat().includes('object'), `${method} ${path}: script is an object`);
      assert.deepEqual(Object.keys(script.properties ?? {}), ['hook', 'body', 'cta'], `${method} ${path}: the parts, no full_text`);
      assert.deepEqual(script.required, ['hook', 'body', 'cta']);
      assert.equal(script.properties?.body?.maxItems, 12);
      assert.equal(schema.properties?.script_text?.type, 'string');
      assert.match(schema.properties?.script_text?.description ?? '', /first sentence is the hook/);
    }
    assert.deepEqual(bodyOf('/contents/{id}', 'patch').properties?.script?.type, ['object', 'null'], 'edit takes script: null');
    assert.equal(bodyOf('/projects/{projectId}/contents', 'post').properties?.script?.type, 'object', 'create does not');
    assert.match(res.body.paths['/projects/{projectId}/contents'].post.summary, /script_text/);
  });
});
