import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PermanentProviderError } from '../errors';

const execFileAsync = promisify(execFile);

export class HangulFontMissingError extends PermanentProviderError {
  override readonly name = 'HangulFontMissingError';
}

async function fontconfig(command: 'fc-match' | 'fc-list', args: string[]): Promise<string> {
  try {
    return (await execFileAsync(command, args)).stdout;
  } catch (error) {
    throw new HangulFontMissingError(`${command} failed (${(error as Error).message}); install fontconfig and fonts-noto-cjk`, { cause: error });
  }
}

/**
 * The font file for a family and style, checked to cover Korean. fc-match always answers with
 * some font, and drawtext by family name falls back to one without Hangul (boxes instead of
 * letters), so the file is checked against `fc-list :lang=ko` and passed to drawtext by path.
 */
export async function resolveHangulFont(family: string, style = 'Bold'): Promise<string> {
  const [matched, koreanList] = await Promise.all([
    fontconfig('fc-match', ['-f', '%{file}', `${family}:style=${style}`]),
    fontconfig('fc-list', ['-f', '%{file}\n', ':lang=ko']),
  ]);
  const korean = [...new Set(koreanList.split('\n').filter((file) => file.length > 0))].sort();
  if (korean.includes(matched.trim())) return matched.trim();
  const sameStyle = korean.find((file) => file.toLowerCase().includes(style.toLowerCase()) && /sans/i.test(file));
  const fallback = sameStyle ?? korean.find((file) => file.toLowerCase().includes(style.toLowerCase())) ?? korean[0];
  if (!fallback) throw new HangulFontMissingError('no installed font covers Korean (fc-list :lang=ko is empty); install fonts-noto-cjk');
  return fallback;
}

const resolved = new Map<string, Promise<string>>();

/** `resolveHangulFont`, looked up once per family and style for the life of the process. */
export function hangulFontFile(family: string, style = 'Bold'): Promise<string> {
  const key = `${family}:${style}`;
  let file = resolved.get(key);
  if (!file) {
    file = resolveHangulFont(family, style);
    void file.catch(() => resolved.delete(key));
    resolved.set(key, file);
  }
  return file;
}
