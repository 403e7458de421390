import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { availableProviders, loadConfig, REQUIRED_ENV_VARS } from '../../lib/config';
import { createProviders } from '../../providers';
import { minimalEnv, problemsOf } from '../support/env';

const VALID = minimalEnv();

describe('configuration', () => {
  it('reads a valid environment into typed values with defaults', () => {
    const config = loadConfig({ ...VALID, API_PORT: '8080', S3_FORCE_PATH_STYLE: '1', API_CORS_ORIGINS: 'https://a.example, https://b.example' });
    assert.equal(config.api.port, 8080);
    assert.equal(config.s3.forcePathStyle, true);
    assert.deepEqual(config.api.corsOrigins, ['https://a.example', 'https://b.example']);
    assert.equal(config.temporal.namespace, 'default');
    assert.equal(config.pipeline.safetyThreshold, 0.7);
    assert.equal(config.secrets.keys.get('k1')?.length, 32);
  });

  it('names every missing variable at once', () => {
    const problems = problemsOf({});
    for (const name of REQUIRED_ENV_VARS) assert.ok(problems.some((p) => p.includes(`"${name}"`)), `${name} named in ${problems.join('; ')}`);
  });

  it('names malformed values', () => {
    const problems = problemsOf({ ...VALID, DATABASE_URL: 'mysql://x', API_PORT: 'eighty', SAFETY_THRESHOLD: '2', SECRETS_ACTIVE_KEY_ID: 'nope' });
    assert.equal(problems.length, 3, problems.join('; '));
    assert.ok(problems.some((p) => p.includes('"DATABASE_URL"')));
    assert.ok(problems.some((p) => p.includes('"API_PORT"')));
    assert.ok(problems.some((p) => p.includes('"SAFETY_THRESHOLD"')));
    const keyProblems = problemsOf({ ...VALID, SECRETS_ENCRYPTION_KEYS: `k1:${randomBytes(16).toString('base64')}` });
    assert.match(keyProblems.join(';'), /must decode to 32 bytes/);
  });
  it('names the key each remote engine needs, and chooses the engines the variables name', () => {
    const problems = problemsOf({ ...VALID, SAFETY_PROVIDER: 'gemini', TTS_PROVIDER: 'elevenlabs', IMAGE_PROVIDER: 'pexels', RENDER_PROVIDER: 'creatomate' });
    for (const name of ['GEMINI_API_KEY', 'ELEVENLABS_API_KEY', 'PEXELS_API_KEY', 'CREATOMATE_API_KEY', 'CREATOMATE_TEMPLATE_ID']) {
      assert.ok(problems.some((p) => p.includes(`"${name}"`)), `${name} named in ${problems.join('; ')}`);
    }
    const config = loadConfig({
      ...VALID,
      SAFETY_PROVIDER: 'openai',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434',
      TTS_PROVIDER: 'elevenlabs',
      ELEVENLABS_API_KEY: 'xi-test',
      IMAGE_PROVIDER: 'openai',
      RENDER_PROVIDER: 'creatomate',
      CREATOMATE_API_KEY: 'ck-test',
      CREATOMATE_TEMPLATE_ID: 'tpl',
      MAX_COST_PER_CONTENT_USD: '0.5',
    });
    const providers = createProviders(config, { publish: async () => 'http://127.0.0.1/file' });
    assert.deepEqual(
      [providers.safetyChecker.name, providers.speech.name, providers.images.name, providers.renderer.name],
      ['openai-moderation', 'elevenlabs', 'openai-images', 'creatomate'],
    );
    assert.equal(config.costs.maxPerContentUsd, 0.5);
    assert.equal(config.backupDatabaseUrl, VALID.DATABASE_URL, 'backups use DATABASE_URL unless BACKUP_DATABASE_URL is set');
  });
  it('takes stock footage from whichever of Pexels and Pixabay has a key, and needs one of them', () => {
    assert.ok(problemsOf({ ...VALID, IMAGE_PROVIDER: 'stock' }).some((p) => p.includes('"PEXELS_API_KEY" is required when "IMAGE_PROVIDER" names stock and "PIXABAY_API_KEY" is not set')));
    const config = loadConfig({ ...VALID, IMAGE_PROVIDER: 'stock', PIXABAY_API_KEY: 'pixabay-test' });
    assert.deepEqual([config.images.pixabay.apiKey, config.images.pixabay.baseUrl, config.images.pexels.apiKey], ['pixabay-test', 'https://pixabay.com', undefined]);
    assert.equal(createProviders(config).images.name, 'stock');
  });
  it("takes the local renderer's x264 preset, veryfast unless set, and none slower than medium", () => {
    assert.equal(loadConfig(VALID).render.x264Preset, 'veryfast');
    assert.equal(loadConfig({ ...VALID, RENDER_X264_PRESET: 'ultrafast' }).render.x264Preset, 'ultrafast');
    assert.ok(problemsOf({ ...VALID, RENDER_X264_PRESET: 'veryslow' }).some((p) => p.includes('"RENDER_X264_PRESET" must be one of')));
  });
  it('takes each step as one provider or an ordered list, needs the key of every remote one listed, and names bad lists', () => {
    const config = loadConfig({
      ...VALID,
      SCRIPT_PROVIDER: 'gemini, openai,local',
      GEMINI_API_KEY: 'g-test',
      OPENAI_API_KEY: 'o-test',
      TTS_PROVIDER: 'elevenlabs,local',
      ELEVENLABS_API_KEY: 'xi-test',
      IMAGE_PROVIDER: 'pexels,openai,local',
      PEXELS_API_KEY: 'p-test',
      RENDER_PROVIDER: 'creatomate,local',
      CREATOMATE_API_KEY: 'ck-test',
      CREATOMATE_TEMPLATE_ID: 'tpl',
    });
    assert.deepEqual(
      [config.script.providers, config.safety.providers, config.tts.providers, config.images.providers, config.render.providers],
      [['gemini', 'openai', 'local'], ['local'], ['elevenlabs', 'local'], ['pexels', 'openai', 'local'], ['creatomate', 'local']],
    );
    const providers = createProviders(config, { publish: async () => 'http://127.0.0.1/file' });
    assert.deepEqual(
      [providers.scriptWriter.name, providers.safetyChecker.name, providers.speech.name, providers.images.name, providers.renderer.name],
      ['gemini>openai>local', 'local-safety', 'elevenlabs>local', 'pexels>openai>local', 'creatomate>local'],
    );
    assert.deepEqual(config.fallback, { tries: 2, maxRetryWaitMs: 5000, breaker: { failures: 5, windowMs: 60_000, cooldownMs: 60_000 } });

    const missing = problemsOf({ ...VALID, SCRIPT_PROVIDER: 'local,gemini', TTS_PROVIDER: 'local,elevenlabs', RENDER_PROVIDER: 'local,creatomate' });
    for (const name of ['GEMINI_API_KEY', 'ELEVENLABS_API_KEY', 'CREATOMATE_API_KEY', 'CREATOMATE_TEMPLATE_ID']) {
      assert.ok(missing.some((p) => p.includes(`"${name}" is required`)), `${name} named in ${missing.join('; ')}`);
    }
    assert.ok(problemsOf({ ...VALID, TTS_PROVIDER: 'elevenlabs,,local' }).some((p) => p.includes('"TTS_PROVIDER" must be one of local, elevenlabs, or several of them in order')));
    assert.ok(problemsOf({ ...VALID, IMAGE_PROVIDER: 'pexels,dalle' }).some((p) => p.includes('"IMAGE_PROVIDER" must be one of')));
    assert.ok(problemsOf({ ...VALID, RENDER_PROVIDER: 'local,local' }).some((p) => p.includes('"RENDER_PROVIDER" names local more than once')));
    assert.deepEqual(
      loadConfig({ ...VALID, PROVIDER_TRIES: '3', PROVIDER_RETRY_MAX_WAIT_MS: '0', PROVIDER_BREAKER_FAILURES: '10', PROVIDER_BREAKER_WINDOW_MS: '30000', PROVIDER_BREAKER_COOLDOWN_MS: '120000' }).fallback,
      { tries: 3, maxRetryWaitMs: 0, breaker: { failures: 10, windowMs: 30_000, cooldownMs: 120_000 } },
    );
  });
  it('knows which providers the deployment can run: the local ones and the remote ones whose keys it holds', () => {
    assert.deepEqual(availableProviders(loadConfig(VALID)), { script: ['local'], safety: ['local'], tts: ['local'], images: ['local'], render: ['local'] });
    const keyed = loadConfig({ ...VALID, GEMINI_API_KEY: 'g-test', OPENAI_BASE_URL: 'http://127.0.0.1:11434', ELEVENLABS_API_KEY: 'xi-test', PIXABAY_API_KEY: 'px-test', CREATOMATE_API_KEY: 'ck-test' });
    assert.deepEqual(availableProviders(keyed), {
      script: ['local', 'gemini', 'openai'],
      safety: ['local', 'gemini', 'openai'],
      tts: ['local', 'elevenlabs'],
      images: ['local', 'stock', 'openai'],
      render: ['local'],
    });
  });
});
