import { PermanentProviderError } from '../errors';

/**
 * What every ffmpeg builder returns: inputs (each a list of tokens ending in `-i path`), one
 * filter graph, and the output options with the output path. Never a shell string.
 */
export interface FfmpegCommand {
  inputs: string[][];
  filterGraph: string;
  outputArgs: string[];
}

/** The argument list for `runFfmpeg`. */
export function commandArgs(command: FfmpegCommand): string[] {
  return [...command.inputs.flat(), ...(command.filterGraph ? ['-filter_complex', command.filterGraph] : []), ...command.outputArgs];
}

/**
 * Escapes a literal option value (a path, a word) for use inside a filter graph. A value inside
 * `-filter_complex` is unescaped twice: once when the graph is split into filters (`[ ] , ;` are
 * special) and once when a filter's options are split (`:` is special); `\` and `'` are special
 * at both levels.
 */
export function filterValue(value: string): string {
  const optionLevel = value.replace(/[\\':]/g, '\\$&');
  return optionLevel.replace(/[\\'[\],;]/g, '\\$&');
}

const HEX_COLOR = /^(?:#|0x)([0-9a-f]{6}|[0-9a-f]{3})$/i;
const NAMED_COLOR = /^[a-z]+$/i;

/**
 * A template colour (`#RRGGBB`, `#RGB`, `0xRRGGBB` or an ffmpeg colour name) as ffmpeg colour
 * syntax, optionally with an alpha. Anything else is refused so it cannot alter the graph.
 */
export function ffmpegColor(color: string, alpha?: number): string {
  const trimmed = color.trim();
  const hex = HEX_COLOR.exec(trimmed)?.[1];
  let base: string;
  if (hex) {
    base = `0x${(hex.length === 3 ? [...hex].map((digit) => digit + digit).join('') : hex).toUpperCase()}`;
  } else if (NAMED_COLOR.test(trimmed)) {
    base = trimmed.toLowerCase();
  } else {
    throw new PermanentProviderError(`unsupported colour ${JSON.stringify(color)}: use #RRGGBB or a colour name`);
  }
  return alpha === undefined ? base : `${base}@${formatNumber(alpha, 2)}`;
}

/** A number with at most `decimals` decimals and no trailing zeros, as filter graphs read it. */
export function formatNumber(value: number, decimals = 3): string {
  const fixed = value.toFixed(decimals);
  return fixed.includes('.') ? fixed.replace(/\.?0+$/, '') : fixed;
}

/**
 * An ass filter burning the ASS file in. libass finds the styles' families through fontconfig and,
 * when `fontsDir` is given, among that folder's fonts too (the script fonts the stack fetches).
 */
export function assFilter(file: string, fontsDir?: string): string {
  return `ass=filename=${filterValue(file)}${fontsDir ? `:fontsdir=${filterValue(fontsDir)}` : ''}`;
}
