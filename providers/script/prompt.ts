import type { LlmPrompt } from '../llm/exchange';
import type { Language, ScriptRequest } from '../types';
import type { ContentFormat } from '../../db/models';
import { density } from './local-writer';
import { cleanText, truncate } from './text';
import { SCRIPT_LIMITS } from './validate';

/**
 * The prompt of the remote script writers (Gemini, OpenAI-compatible) and the JSON schema their
 * answer must follow. The exchange itself is ../llm's; reading the answer is ./remote-writer.ts's.
 */

/** The answer's shape as a JSON schema (OpenAI strict mode: every property required, no extras). */
export const SCRIPT_JSON_SCHEMA = {
  type: 'object',
  properties: {
    title: { type: 'string', description: `Video title, at most ${SCRIPT_LIMITS.titleMaxChars} characters` },
    description: { type: 'string', description: `Video description, at most ${SCRIPT_LIMITS.descriptionMaxChars} characters` },
    tags: { type: 'array', items: { type: 'string' }, description: `At most ${SCRIPT_LIMITS.maxTags} tags without '#'` },
    hook: { type: 'string', description: 'The opening line that grabs attention' },
    body: { type: 'array', items: { type: 'string' }, description: 'The spoken sections, one paragraph each' },
    cta: { type: 'string', description: 'The closing call to action' },
    search_terms: {
      type: 'array',
      items: { type: 'string' },
      description: 'For each scene in order (the hook, each body section, the cta): a short English stock-footage search that shows it',
    },
  },
  required: ['title', 'description', 'tags', 'hook', 'body', 'cta', 'search_terms'],
  additionalProperties: false,
} as const;

const LANGUAGE_NAMES: Readonly<Record<Language, string>> = {
  ko: 'Korean',
  en: 'English',
  ja: 'Japanese',
  zh: 'Simplified Chinese',
  es: 'Spanish',
  fr: 'French',
  de: 'German',
  pt: 'Brazilian Portuguese',
  hi: 'Hindi',
  ar: 'Modern Standard Arabic',
};
const SOURCE_MAX_CHARS = 8000;

/**
 * What the AI writers are asked for per format: the spoken length (short ≤ 60 s, mid 3–5 min,
 * long 10–20 min) and the body sections that carry it.
 */
export const AI_FORMAT_PLANS: Readonly<Record<ContentFormat, { sections: number; seconds: readonly [number, number] }>> = {
  short: { sections: 3, seconds: [30, 60] },
  mid: { sections: 6, seconds: [180, 300] },
  long: { sections: 12, seconds: [600, 1200] },
};

/** Characters a narrator speaks per second: about 150 words a minute with spaces, six syllables a second in Korean, Japanese and Chinese. */
const CHARS_PER_SEC = { spaced: 14, dense: 6 } as const;

/** The spoken length asked for: the format's range, narrowed to the template's target when it falls inside. */
export function spokenRange(format: ContentFormat, targetSec?: number): readonly [number, number] {
  const [min, max] = AI_FORMAT_PLANS[format].seconds;
  if (targetSec === undefined || !(targetSec > min) || targetSec > max) return [min, max];
  return [Math.max(min, Math.round(targetSec * 0.85)), Math.round(targetSec)];
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/** "vertical 9:16", "horizontal 16:9", "square 1:1", "vertical 4:5". */
export function orientationOf(frame: { width: number; height: number }): string {
  const divisor = gcd(frame.width, frame.height);
  const shape = frame.width < frame.height ? 'vertical' : frame.width > frame.height ? 'horizontal' : 'square';
  return `${shape} ${frame.width / divisor}:${frame.height / divisor}`;
}

/** System instruction and user message for a request; `previousError` is added on the retry. */
export function buildScriptPrompt(request: ScriptRequest, previousError?: string): LlmPrompt {
  const { sections } = AI_FORMAT_PLANS[request.format];
  const [minSec, maxSec] = spokenRange(request.format, request.targetSec);
  const rate = CHARS_PER_SEC[density(request.language)];
  const sectionChars = Math.min(SCRIPT_LIMITS.sectionMaxChars, Math.ceil(((maxSec * rate) / sections) * 1.15));
  const language = LANGUAGE_NAMES[request.language];
  const shape = request.frame ? `${orientationOf(request.frame)} ` : '';
  const system = [
    `You write scripts for ${request.format}-form ${shape}videos, ${minSec}–${maxSec} seconds spoken (about ${minSec * rate}–${maxSec * rate} characters in all), read aloud by a narrator.`,
    `Write everything in ${language}. Subject area: ${request.vertical}. Tone: ${request.tone}.`,
    `Answer only with a JSON object with the fields title, description, tags, hook, body, cta and search_terms.`,
    `hook: one or two sentences, at most ${SCRIPT_LIMITS.hookMaxChars} characters.`,
    `body: ${sections} sections (between ${SCRIPT_LIMITS.minSections} and ${SCRIPT_LIMITS.maxSections}), each a paragraph of at most ${sectionChars} characters; together they carry the length above.`,
    `cta: a closing call to action, at most ${SCRIPT_LIMITS.ctaMaxChars} characters.`,
    `search_terms: one search per scene (the hook, each body section, the cta), each 2 to 5 English words of at most ${SCRIPT_LIMITS.searchMaxChars} characters naming what stock footage of that scene shows (concrete things and actions, not abstractions).`,
    `title: at most ${SCRIPT_LIMITS.titleMaxChars} characters. description: at most ${SCRIPT_LIMITS.descriptionMaxChars} characters.`,
    `tags: 3 to ${SCRIPT_LIMITS.maxTags} single-word tags, each at most ${SCRIPT_LIMITS.tagMaxChars} characters, without '#'.`,
    'Plain spoken text only: no markdown, no emojis, no stage directions. Do not invent facts that the source does not support;',
    'health and finance content must not give personal medical or investment advice.',
  ].join('\n');
  const lines: string[] = [];
  if (request.title) lines.push(`Title (use it as is): ${cleanText(request.title)}`);
  if (request.topic) lines.push(`Topic: ${cleanText(request.topic)}`);
  if (request.sourceData) lines.push(`Source item (JSON):\n${truncate(JSON.stringify(request.sourceData), SOURCE_MAX_CHARS)}`);
  if (lines.length === 0) lines.push(`Topic: a useful, current subject for the ${request.vertical} vertical.`);
  lines.push('Write the script now.');
  if (previousError) {
    lines.push(`Your previous answer was rejected: ${previousError}. Answer again with a corrected JSON object that follows every rule.`);
  }
  return { system, user: lines.join('\n\n') };
}
