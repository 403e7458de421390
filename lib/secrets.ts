import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import type { AppConfig } from './config';

const FORMAT_VERSION = 'v1';
const ALGORITHM = 'aes-256-gcm';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]+$/;
const SEALED_PATTERN = /^v1\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]*)$/;

export type SecretBoxErrorCode = 'invalid_key' | 'malformed' | 'unknown_key' | 'authentication_failed';

/** Never carries the plaintext, the ciphertext or key material, so it is safe to log. */
export class SecretBoxError extends Error {
  constructor(
    readonly code: SecretBoxErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'SecretBoxError';
  }
}

interface SealedParts {
  keyId: string;
  iv: Buffer;
  tag: Buffer;
  ciphertext: Buffer;
}

function parse(stored: string): SealedParts {
  const match = SEALED_PATTERN.exec(stored);
  if (!match) throw new SecretBoxError('malformed', `not a ${FORMAT_VERSION} sealed secret (expected ${FORMAT_VERSION}.<keyId>.<iv>.<tag>.<ciphertext>)`);
  const [, keyId, iv, tag, ciphertext] = match as unknown as [string, string, string, string, string];
  const parts = { keyId, iv: Buffer.from(iv, 'base64url'), tag: Buffer.from(tag, 'base64url'), ciphertext: Buffer.from(ciphertext, 'base64url') };
  // A short tag would make forgery cheaper, and Node accepts short tags unless told otherwise.
  if (parts.iv.length !== IV_BYTES || parts.tag.length !== TAG_BYTES) {
    const sizes = `a ${parts.iv.length}-byte IV and a ${parts.tag.length}-byte tag`;
    throw new SecretBoxError('malformed', `sealed secret has ${sizes} (expected ${IV_BYTES} and ${TAG_BYTES})`);
  }
  return parts;
}

/**
 * The header and the caller's context are authenticated with the ciphertext, so a value moved to
 * another row or column (another context) fails to open instead of decrypting in the wrong place.
 */
function additionalData(keyId: string, context: string): Buffer {
  return Buffer.from(`${FORMAT_VERSION}.${keyId}\u0000${context}`, 'utf8');
}

/**
 * AES-256-GCM with key rotation. A sealed value reads `v1.<keyId>.<iv>.<tag>.<ciphertext>`
 * (base64url parts), so it names the key that opens it: old values keep decrypting while the
 * configuration holds their key, and new ones use the active key.
 */
export class SecretBox {
  // Private, so neither JSON.stringify nor util.inspect shows key material.
  readonly #keys: Map<string, Buffer>;
  readonly activeKeyId: string;

  constructor(keys: ReadonlyMap<string, Buffer>, activeKeyId: string) {
    for (const [id, key] of keys) {
      if (!KEY_ID_PATTERN.test(id)) throw new SecretBoxError('invalid_key', `key id "${id}" may hold only letters, digits, "_" and "-"`);
      if (key.length !== KEY_BYTES) throw new SecretBoxError('invalid_key', `key "${id}" is ${key.length} bytes; AES-256 needs ${KEY_BYTES}`);
    }
    if (!keys.has(activeKeyId)) throw new SecretBoxError('unknown_key', `active key "${activeKeyId}" is not among the configured keys`);
    // Copies, so later changes to the caller's map or buffers cannot change this box.
    this.#keys = new Map([...keys].map(([id, key]) => [id, Buffer.from(key)]));
    this.activeKeyId = activeKeyId;
  }

  static fromConfig(secrets: AppConfig['secrets']): SecretBox {
    return new SecretBox(secrets.keys, secrets.activeKeyId);
  }

  /** True when `value` has the sealed format; says nothing about whether it opens. */
  static isSealed(value: string): boolean {
    try {
      parse(value);
      return true;
    } catch {
      return false;
    }
  }

  /** The id of the key that sealed `stored`. */
  static keyIdOf(stored: string): string {
    return parse(stored).keyId;
  }

  get keyIds(): string[] {
    return [...this.#keys.keys()];
  }

  /** Seals `plain` with the active key; `context` must be given again to decrypt. */
  encrypt(plain: string, context = ''): string {
    const key = this.#keys.get(this.activeKeyId) as Buffer;
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(additionalData(this.activeKeyId, context));
    const ciphertext = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()]);
    const parts = [iv, cipher.getAuthTag(), ciphertext].map((part) => part.toString('base64url'));
    return [FORMAT_VERSION, this.activeKeyId, ...parts].join('.');
  }

  decrypt(stored: string, context = ''): string {
    const { keyId, iv, tag, ciphertext } = parse(stored);
    const key = this.#keys.get(keyId);
    if (!key) throw new SecretBoxError('unknown_key', `sealed with key "${keyId}", which is not configured (configured: ${this.keyIds.join(', ')})`);
    const decipher = createDecipheriv(ALGORITHM, key, iv, { authTagLength: TAG_BYTES });
    decipher.setAAD(additionalData(keyId, context));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(ciphertext), decipher.final()]).toString('utf8');
    } catch {
      throw new SecretBoxError(
        'authentication_failed',
        `sealed secret did not authenticate with key "${keyId}": it was altered, belongs to another context, or the key is wrong`,
      );
    }
  }

  /** True when `stored` was sealed with a key other than the active one. */
  needsRotation(stored: string): boolean {
    return SecretBox.keyIdOf(stored) !== this.activeKeyId;
  }

  /** `stored` sealed again with the active key (unchanged if it already is). */
  rotate(stored: string, context = ''): string {
    return this.needsRotation(stored) ? this.encrypt(this.decrypt(stored, context), context) : stored;
  }
}
