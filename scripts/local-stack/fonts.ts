import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FONTS_DIR_VARIABLE } from '../../providers/ffmpeg/fonts';
import { cacheRoot, onPath } from './binaries';

/**
 * The Noto fonts for the scripts Noto Sans CJK lacks (Devanagari for Hindi, Arabic), which libass
 * reads from one folder (AUTOCLIP_FONTS_DIR). Debian ships them in fonts-noto-core; without root,
 * the package is downloaded once with `apt-get download` into the user's cache folder (outside the
 * checkout, so a fresh clone reuses it) and only these files are extracted.
 */
const PACKAGE = 'fonts-noto-core';
const PACKAGE_DIR = './usr/share/fonts/truetype/noto';
export const SCRIPT_FONT_FILES = ['NotoSansDevanagari-Regular.ttf', 'NotoSansDevanagari-Bold.ttf', 'NotoSansArabic-Regular.ttf', 'NotoSansArabic-Bold.ttf'];
const FAMILIES = ['Noto Sans Devanagari', 'Noto Sans Arabic'];

function installedSystemWide(): boolean {
  const families = spawnSync('fc-list', [':', 'family'], { encoding: 'utf8' }).stdout ?? '';
  return FAMILIES.every((family) => families.split('\n').some((line) => line.split(',').includes(family)));
}

function fetchInto(target: string): void {
  if (!onPath('apt-get') || !onPath('dpkg-deb')) {
    throw new Error(`${FAMILIES.join(' and ')} are missing and apt-get is not here to fetch them: install ${PACKAGE}, or set ${FONTS_DIR_VARIABLE} to a folder holding ${SCRIPT_FONT_FILES.join(', ')}`);
  }
  const parent = join(target, '..');
  mkdirSync(parent, { recursive: true });
  const tmp = mkdtempSync(join(parent, '.fetch-'));
  try {
    console.error(`[stack] fetching ${FAMILIES.join(' and ')} (${PACKAGE}, first time only)…`);
    execFileSync('apt-get', ['download', '-q', PACKAGE], { cwd: tmp, stdio: ['ignore', 'ignore', 'inherit'] });
    const deb = readdirSync(tmp).find((name) => name.startsWith(`${PACKAGE}_`) && name.endsWith('.deb'));
    if (!deb) throw new Error(`apt-get download ${PACKAGE} left no .deb in ${tmp}`);
    const archive = execFileSync('dpkg-deb', ['--fsys-tarfile', join(tmp, deb)], { maxBuffer: 512 * 1024 * 1024 });
    const extracted = join(tmp, 'root');
    mkdirSync(extracted);
    execFileSync('tar', ['-x', '-C', extracted, ...SCRIPT_FONT_FILES.map((file) => `${PACKAGE_DIR}/${file}`)], { input: archive });
    rmSync(target, { recursive: true, force: true });
    renameSync(join(extracted, PACKAGE_DIR), target);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/**
 * The folder to name in AUTOCLIP_FONTS_DIR: the environment's own, else the cached fonts (fetched
 * when missing); undefined when the system already has both families (fonts-noto-core installed).
 */
export function ensureScriptFonts(): string | undefined {
  const configured = process.env[FONTS_DIR_VARIABLE]?.trim();
  if (configured) return configured;
  const target = join(cacheRoot(), 'fonts', PACKAGE);
  if (SCRIPT_FONT_FILES.every((file) => existsSync(join(target, file)))) return target;
  if (installedSystemWide()) return undefined;
  fetchInto(target);
  return target;
}
