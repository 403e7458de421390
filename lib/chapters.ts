/**
 * YouTube chapters for a video's description: lines "m:ss Title" (h:mm:ss past an hour), the first
 * at 0:00, at least three, each at least 10 seconds long. They are built from the script and the
 * scenes' places on the video's timeline (`contents.media_assets`): 0:00 for the intro and the hook,
 * then one chapter per body section at its scene's start, titled with its first words. The call to
 * action stays in the last section's chapter.
 */

export interface Chapter {
  /** Whole seconds from the video's start. */
  startSec: number;
  title: string;
}

export interface ChapterSource {
  script: { hook: string; body: readonly string[]; cta: string };
  /** One per spoken scene (hook, body sections, call to action, the empty ones left out), in order; audio assets are skipped. */
  mediaAssets: readonly { type: string; timestamp: number; duration?: number }[];
  /** The video's length in seconds; without it, the end of the last scene. */
  videoDurationSec?: number | null;
  /** The first chapter's title when the script has no hook (e.g. the video's title). */
  fallbackTitle: string;
  /** BCP-47 language of the script, for cutting titles at words. */
  language?: string;
}

/** YouTube's shortest chapter. */
export const MIN_CHAPTER_SEC = 10;
/** YouTube shows no chapters for fewer. */
export const MIN_CHAPTERS = 3;
/** About this many characters of a section's first words name its chapter. */
export const CHAPTER_TITLE_MAX_CHARS = 40;

const codePoints = (text: string): number => [...text].length;

/** `m:ss`, or `h:mm:ss` from one hour, of whole seconds (fractions are dropped). */
export function formatChapterTime(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = String(total % 60).padStart(2, '0');
  return hours > 0 ? `${hours}:${String(minutes).padStart(2, '0')}:${secs}` : `${minutes}:${secs}`;
}

/**
 * The first words of `text` on one line, at most `maxChars` characters cut after a whole word
 * (words as `Intl.Segmenter` finds them, so unspaced scripts are cut at words too) and followed by
 * "…" when cut; a first word longer than that is cut where the limit falls. Angle brackets, which
 * YouTube refuses in a description, are dropped.
 */
export function chapterTitle(text: string, language?: string, maxChars = CHAPTER_TITLE_MAX_CHARS): string {
  const line = text.replace(/[<>]/g, '').replace(/\s+/g, ' ').trim();
  if (codePoints(line) <= maxChars) return line;
  let kept = '';
  for (const { segment, index, isWordLike } of new Intl.Segmenter(language, { granularity: 'word' }).segment(line)) {
    const end = index + segment.length;
    if (codePoints(line.slice(0, end)) > maxChars) break;
    if (isWordLike) kept = line.slice(0, end);
  }
  if (kept === '') kept = [...line].slice(0, maxChars).join('');
  return `${kept.replace(/[\s\p{P}]+$/u, '')}…`;
}

/**
 * The video's chapters, or none when fewer than three remain. A section whose chapter would last
 * less than 10 seconds joins the chapter before it; so does the first section when the intro and the
 * hook before it are shorter than that. Nothing is made when the scenes do not match the script.
 */
export function videoChapters(source: ChapterSource): Chapter[] {
  const { script, language } = source;
  const spoken = (text: string): boolean => text.trim() !== '';
  const scenes = [
    ...(spoken(script.hook) ? [{ section: false, text: script.hook }] : []),
    ...script.body.filter(spoken).map((text) => ({ section: true, text })),
    ...(spoken(script.cta) ? [{ section: false, text: script.cta }] : []),
  ];
  const assets = source.mediaAssets.filter((asset) => asset.type !== 'audio');
  if (assets.length === 0 || assets.length !== scenes.length) return [];

  const lastScene = Math.max(...assets.map((asset) => asset.timestamp + (asset.duration ?? 0)));
  const end = Math.floor(source.videoDurationSec && source.videoDurationSec > 0 ? source.videoDurationSec : lastScene);
  const sections = scenes.flatMap((scene, i) => (scene.section ? [{ startSec: Math.floor(assets[i]!.timestamp), title: chapterTitle(scene.text, language) }] : []));

  const chapters: Chapter[] = [{ startSec: 0, title: spoken(script.hook) ? chapterTitle(script.hook, language) : chapterTitle(source.fallbackTitle, language) }];
  sections.forEach((section, i) => {
    const next = sections[i + 1]?.startSec ?? end;
    const previous = chapters.at(-1)!;
    if (section.startSec - previous.startSec < MIN_CHAPTER_SEC || next - section.startSec < MIN_CHAPTER_SEC || section.title === '') return;
    chapters.push(section);
  });
  return chapters.length >= MIN_CHAPTERS ? chapters : [];
}

/**
 * The description with its chapters after it, one "time title" line each, within `maxBytes` of
 * UTF-8: the description is shortened, never the chapters. Without chapters, the description as it is.
 */
export function describeWithChapters(description: string, chapters: readonly Chapter[], maxBytes: number): string {
  if (chapters.length === 0) return description;
  const block = chapters.map((chapter) => `${formatChapterTime(chapter.startSec)} ${chapter.title}`).join('\n');
  const text = description.trim();
  if (text === '') return block;
  const budget = maxBytes - Buffer.byteLength(block) - 2;
  let kept = '';
  let bytes = 0;
  for (const point of text) {
    bytes += Buffer.byteLength(point);
    if (bytes > budget) break;
    kept += point;
  }
  return kept.trim() === '' ? block : `${kept.trimEnd()}\n\n${block}`;
}
