import { createHash } from 'node:crypto';
import type { Language } from '../types';

/**
 * Text tools of the local script writer: cleaning untrusted source text (HTML, control and bidi
 * characters), sentence splitting, keyword extraction, extractive ranking, bounded truncation,
 * speech-length estimates and seeded choices (so the same input always gives the same script).
 */

const ENTITIES: Readonly<Record<string, string>> = {
  amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ', hellip: '…', mdash: '—', ndash: '–',
  lsquo: '‘', rsquo: '’', ldquo: '“', rdquo: '”', middot: '·', laquo: '«', raquo: '»',
};

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]{1,6}|#\d{1,7}|[a-z]{2,8});/gi, (whole, name: string) => {
    if (name.startsWith('#')) {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : ' ';
    }
    return ENTITIES[name.toLowerCase()] ?? whole;
  });
}

function stripTags(text: string): string {
  return text
    .replace(/<(script|style|noscript|iframe|svg|object|template)\b[\s\S]*?(<\/\1\s*>|$)/gi, ' ')
    .replace(/<!--[\s\S]*?(-->|$)/g, ' ')
    .replace(/<!\[CDATA\[([\s\S]*?)\]\]>/g, '$1')
    // Block ends separate sentences that carry no final punctuation (list items, headings).
    .replace(/<\/?(br|p|div|li|ul|ol|h[1-6]|tr|blockquote|section|article)\b[^>]*>/gi, '\n')
    .replace(/<[^>]*>/g, ' ');
}

/**
 * Plain text from untrusted HTML or text: tags and their scripts removed, entities decoded (then
 * stripped again so encoded markup cannot come back), control, zero-width and bidi-override
 * characters removed, angle brackets dropped, whitespace collapsed (newlines kept as breaks).
 */
export function cleanText(input: string): string {
  return stripTags(decodeEntities(stripTags(input)))
    .normalize('NFC')
    .replace(/(?![\n\r\t])\p{Cc}/gu, '')
    .replace(/[\u200B\u200E\u200F\u202A-\u202E\u2060\u2066-\u2069\uFEFF]/g, '')
    .replace(/[<>]/g, ' ')
    .replace(/[ \t\f\v\u00A0\u3000]+/g, ' ')
    .replace(/ *\n[\s\n]*/g, '\n')
    .trim();
}

/** Text meant to be spoken: no links, no emoji, no symbol runs. */
export function speakable(text: string): string {
  return text
    .replace(/\bhttps?:\/\/\S+|\bwww\.\S+/gi, ' ')
    .replace(/\p{Extended_Pictographic}|\p{Emoji_Modifier}|\u{FE0F}|\u{200D}|\u{20E3}/gu, '')
    .replace(/([#*_=~^|\\/+-])\1{2,}/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
}

export function splitSentences(text: string): string[] {
  return text
    .split('\n')
    .flatMap((line) => line.split(/(?<=[.!?。！？…]["'”’)\]]*)\s+/))
    .map((sentence) => sentence.trim())
    .filter((sentence) => sentence !== '');
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

export function graphemeLength(text: string): number {
  return Array.from(segmenter.segment(text)).length;
}

/**
 * At most `max` graphemes (so emoji and Hangul are never cut in half), cut at a word boundary
 * when one is near the end, with `ellipsis` appended when something was cut.
 */
export function truncate(text: string, max: number, ellipsis = '…'): string {
  if (graphemeLength(text) <= max) return text;
  const room = max - graphemeLength(ellipsis);
  let kept = '';
  let count = 0;
  for (const { segment } of segmenter.segment(text)) {
    if (count >= room) break;
    kept += segment;
    count += 1;
  }
  const space = kept.lastIndexOf(' ');
  if (space > kept.length * 0.6) kept = kept.slice(0, space);
  return kept.replace(/[\s,;:·–—-]+$/, '') + ellipsis;
}

const EN_STOPWORDS = new Set(
  ('the a an and or but if of to in on at by for with from as is are was were be been being it its this that these those ' +
    'you your we our they their he she his her them i me my not no so than then there here what which who whom how why when ' +
    'will would can could should may might must do does did done have has had about into over after before more most also just ' +
    'up down out new says said per via one two three all any some such only other its very much many today now').split(' '),
);

const KO_STOPWORDS = new Set(
  '그리고 그러나 하지만 그래서 또한 이번 지난 오늘 내일 위해 대한 통해 관련 이후 이전 현재 가장 모든 경우 정도 때문 것으로 있는 있다 했다 한다 합니다 입니다 있습니다 됩니다 밝혔다 말했다 기자 뉴스'.split(' '),
);

// Common particles, longest first, so a noun is counted once whatever follows it. Particles that
// often end nouns too (이 in 귀걸이, 가 in 평가, 의 in 회의, 도 in 정도) are left alone.
const KO_PARTICLES = ['에서는', '으로는', '에게서', '이라는', '에서', '으로', '에게', '까지', '부터', '보다', '처럼', '라는', '은', '는', '을', '를', '에'];

function stripParticle(word: string): string {
  for (const particle of KO_PARTICLES) {
    if (word.length - particle.length >= 2 && word.endsWith(particle)) return word.slice(0, -particle.length);
  }
  return word;
}

/** Content words of a text, in order, lower-cased, particles and stopwords removed. */
export function contentWords(text: string): string[] {
  const words = text.toLowerCase().match(/[\p{L}\p{N}][\p{L}\p{N}'’.-]*[\p{L}\p{N}]|[\p{L}\p{N}]/gu) ?? [];
  return words
    .map((word) => (/[\uAC00-\uD7A3]/.test(word) ? stripParticle(word) : word.replace(/['’]s$/, '')))
    .filter((word) => {
      if (EN_STOPWORDS.has(word) || KO_STOPWORDS.has(word) || /^\d+([.,]\d+)?$/.test(word)) return false;
      return /[\uAC00-\uD7A3]/.test(word) ? word.length >= 2 : word.length >= 3;
    });
}

/** The most frequent content words (seen at least `minCount` times), ties broken by first appearance. */
export function topKeywords(text: string, count: number, minCount = 1): string[] {
  const frequency = new Map<string, { n: number; first: number }>();
  contentWords(text).forEach((word, index) => {
    const entry = frequency.get(word);
    if (entry) entry.n += 1;
    else frequency.set(word, { n: 1, first: index });
  });
  return [...frequency.entries()]
    .filter(([, entry]) => entry.n >= minCount)
    .sort(([, a], [, b]) => b.n - a.n || a.first - b.first)
    .slice(0, count)
    .map(([word]) => word);
}

function dedupeKey(text: string): string {
  return text.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/**
 * Simple extractive summary: scores each sentence by position, overlap with the headline's
 * keywords and length, keeps the best `count` and returns them in their original order.
 */
export function rankSentences(sentences: readonly string[], headline: string, count: number): string[] {
  const focus = new Set(contentWords(headline));
  const seen = new Set<string>([dedupeKey(headline)]);
  const scored = sentences.flatMap((sentence, index) => {
    const key = dedupeKey(sentence);
    const letters = sentence.match(/\p{L}/gu)?.length ?? 0;
    // Too few letters, or a "word" no language has (a hash, a run of one letter): not a sentence to speak.
    if (seen.has(key) || letters < 8 || /[^\s]{41}/u.test(sentence)) return [];
    seen.add(key);
    const words = contentWords(sentence);
    const overlap = words.filter((word) => focus.has(word)).length;
    const length = graphemeLength(sentence);
    const lengthScore = length < 25 ? 0.3 : length <= 220 ? 1 : Math.max(0.2, 220 / length);
    const score = 1.5 / (1 + index * 0.35) + (focus.size > 0 ? (2 * overlap) / focus.size : 0) + lengthScore;
    return [{ sentence, index, score }];
  });
  return scored
    .sort((a, b) => b.score - a.score || a.index - b.index)
    .slice(0, count)
    .sort((a, b) => a.index - b.index)
    .map(({ sentence }) => sentence);
}

/**
 * Seconds a text takes to speak at a calm narration pace: about 2.5 English words per second,
 * 5.5 Hangul syllables per second.
 */
export function estimateSpeechSeconds(text: string, language: Language): number {
  const hangul = text.match(/[\uAC00-\uD7A3]/g)?.length ?? 0;
  const otherWords = text.replace(/[\uAC00-\uD7A3]+/g, ' ').match(/[\p{L}\p{N}]+/gu)?.length ?? 0;
  return hangul / 5.5 + otherWords / (language === 'ko' ? 2.2 : 2.5);
}

/** JSON with sorted keys, so that the same data gives the same seed whatever its key order. */
function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export function seedOf(value: unknown): string {
  return createHash('sha256').update(stableJson(value)).digest('hex');
}

/** A choice that depends only on the seed and the purpose (`salt`) of the choice. */
export function pick<T>(items: readonly T[], seed: string, salt: string): T {
  if (items.length === 0) throw new Error(`nothing to pick for ${salt}`);
  const digest = createHash('sha256').update(`${seed}:${salt}`).digest();
  return items[digest.readUInt32BE(0) % items.length] as T;
}
