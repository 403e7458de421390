import { randomBytes } from 'node:crypto';
import { inspect } from 'node:util';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadConfig } from '../../lib/config';
import { SecretBox, SecretBoxError } from '../../lib/secrets';
import { minimalEnv } from '../support/env';

const key1 = randomBytes(32);
const key2 = randomBytes(32);

function box(keys: Record<string, Buffer>, active: string): SecretBox {
  return new SecretBox(new Map(Object.entries(keys)), active);
}

/** Flips one bit of one base64url part of a sealed value (0 = iv, 1 = tag, 2 = ciphertext). */
function tamper(sealed: string, part: 0 | 1 | 2): string {
  const pieces = sealed.split('.');
  const bytes = Buffer.from(pieces[part + 2] as string, 'base64url');
  bytes[0] = (bytes[0] as number) ^ 0x01;
  pieces[part + 2] = bytes.toString('base64url');
  return pieces.join('.');
}

function rejectsWith(code: SecretBoxError['code'], work: () => unknown): void {
  assert.throws(work, (error: unknown) => error instanceof SecretBoxError && error.code === code);
}

describe('SecretBox', () => {
  it('round-trips text, including Hangul, empty and long strings', () => {
    const b = box({ k1: key1 }, 'k1');
    for (const plain of ['ya29.a0AfH6SMBx-token', '한글 토큰 🔑', '', 'x'.repeat(10_000)]) {
      assert.equal(b.decrypt(b.encrypt(plain)), plain);
    }
  });

  it('writes v1.<keyId>.<iv>.<tag>.<ciphertext> with a fresh IV each time', () => {
    const b = box({ k1: key1 }, 'k1');
    const sealed = b.encrypt('same input');
    const [version, keyId, iv, tag, ciphertext] = sealed.split('.');
    assert.equal(version, 'v1');
    assert.equal(keyId, 'k1');
    assert.equal(Buffer.from(iv as string, 'base64url').length, 12);
    assert.equal(Buffer.from(tag as string, 'base64url').length, 16);
    assert.equal(Buffer.from(ciphertext as string, 'base64url').length, 'same input'.length);
    assert.notEqual(b.encrypt('same input'), sealed);
    assert.ok(!sealed.includes('same input'));
    assert.equal(SecretBox.keyIdOf(sealed), 'k1');
    assert.ok(SecretBox.isSealed(sealed));
    assert.ok(!SecretBox.isSealed('ya29.plain-token'));
  });

  it('rejects a wrong key under the same id', () => {
    const sealed = box({ k1: key1 }, 'k1').encrypt('secret');
    rejectsWith('authentication_failed', () => box({ k1: key2 }, 'k1').decrypt(sealed));
  });

  it('rejects an unknown key id and names it', () => {
    const sealed = box({ old: key1 }, 'old').encrypt('secret');
    assert.throws(() => box({ k2: key2 }, 'k2').decrypt(sealed), /key "old", which is not configured/);
    rejectsWith('unknown_key', () => box({ k2: key2 }, 'k2').decrypt(sealed));
  });

  it('rejects a tampered IV, tag or ciphertext, and a swapped key id', () => {
    const b = box({ k1: key1, k2: key2 }, 'k1');
    const sealed = b.encrypt('secret value');
    for (const part of [0, 1, 2] as const) rejectsWith('authentication_failed', () => b.decrypt(tamper(sealed, part)));
    rejectsWith('authentication_failed', () => b.decrypt(sealed.replace('.k1.', '.k2.')));
  });

  it('rejects malformed values and truncated tags', () => {
    const b = box({ k1: key1 }, 'k1');
    const sealed = b.encrypt('secret');
    const pieces = sealed.split('.');
    pieces[3] = Buffer.from(pieces[3] as string, 'base64url').subarray(0, 4).toString('base64url');
    for (const bad of ['plain-token', `v2${sealed.slice(2)}`, sealed.split('.').slice(0, 4).join('.'), pieces.join('.')]) {
      rejectsWith('malformed', () => b.decrypt(bad));
    }
  });

  it('binds a value to its context', () => {
    const b = box({ k1: key1 }, 'k1');
    const sealed = b.encrypt('token', 'channels.access_token:1');
    assert.equal(b.decrypt(sealed, 'channels.access_token:1'), 'token');
    rejectsWith('authentication_failed', () => b.decrypt(sealed, 'channels.refresh_token:1'));
    rejectsWith('authentication_failed', () => b.decrypt(sealed));
  });

  it('rotates: old values open while both keys are configured and re-seal with the active key', () => {
    const before = box({ k1: key1 }, 'k1');
    const sealedOld = before.encrypt('token', 'ctx');
    const during = box({ k1: key1, k2: key2 }, 'k2');
    assert.equal(during.decrypt(sealedOld, 'ctx'), 'token');
    assert.equal(during.needsRotation(sealedOld), true);
    const sealedNew = during.rotate(sealedOld, 'ctx');
    assert.equal(SecretBox.keyIdOf(sealedNew), 'k2');
    assert.equal(during.needsRotation(sealedNew), false);
    assert.equal(during.rotate(sealedNew, 'ctx'), sealedNew);
    const after = box({ k2: key2 }, 'k2');
    assert.equal(after.decrypt(sealedNew, 'ctx'), 'token');
    rejectsWith('unknown_key', () => after.decrypt(sealedOld, 'ctx'));
  });

  it('refuses bad configuration', () => {
    rejectsWith('invalid_key', () => box({ k1: randomBytes(16) }, 'k1'));
    rejectsWith('invalid_key', () => box({ 'k.1': key1 }, 'k.1'));
    rejectsWith('unknown_key', () => box({ k1: key1 }, 'k2'));
  });

  it('is built from the configuration, and is not changed by later edits to the caller’s map', () => {
    const config = loadConfig({
      ...minimalEnv(),
      SECRETS_ENCRYPTION_KEYS: `old:${key1.toString('base64')},new:${key2.toString('base64')}`,
      SECRETS_ACTIVE_KEY_ID: 'new',
    });
    const b = SecretBox.fromConfig(config.secrets);
    assert.equal(b.activeKeyId, 'new');
    assert.deepEqual(b.keyIds.sort(), ['new', 'old']);
    const sealed = b.encrypt('token');
    config.secrets.keys.get('new')?.fill(0);
    config.secrets.keys.delete('new');
    assert.equal(b.decrypt(sealed), 'token');
  });

  it('shows no key material when logged or serialised', () => {
    const b = box({ k1: key1 }, 'k1');
    const shown = `${JSON.stringify(b)} ${inspect(b, { showHidden: true, depth: 5 })}`;
    for (const encoding of ['base64', 'hex', 'base64url'] as const) assert.ok(!shown.includes(key1.toString(encoding)));
    assert.ok(!shown.includes(key1.subarray(0, 8).toString('hex').match(/../g)?.join(' ') ?? '-'));
  });
});
