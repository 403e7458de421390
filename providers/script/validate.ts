import type { Script } from '../types';

/**
 * The shape every script writer must return (seed §3.4.1, `contents.script`). Remote writers
 * parse a model's JSON and pass it through `validateScript`, so a bad answer fails with the name
 * of the bad field instead of reaching the speech and render steps.
 */

export const SCRIPT_LIMITS = {
  hookMaxChars: 400,
  ctaMaxChars: 400,
  sectionMaxChars: 2000,
  minSections: 1,
  maxSections: 12,
  titleMaxChars: 100,
  descriptionMaxChars: 4000,
  maxTags: 12,
  tagMaxChars: 30,
  searchMaxChars: 60,
} as const;

/** Separator of the parts in `full_text`: one spoken paragraph per part. */
const SCRIPT_PART_SEPARATOR = '\n';

export class ScriptValidationError extends Error {
  constructor(
    readonly field: string,
    problem: string,
  ) {
    super(`Invalid script: ${field} ${problem}`);
    this.name = 'ScriptValidationError';
  }
}

function text(value: unknown, field: string, maxChars: number): string {
  if (typeof value !== 'string') throw new ScriptValidationError(field, `must be a string, got ${value === null ? 'null' : typeof value}`);
  const trimmed = value.trim();
  if (trimmed === '') throw new ScriptValidationError(field, 'must not be empty');
  const length = Array.from(trimmed).length;
  if (length > maxChars) throw new ScriptValidationError(field, `has ${length} characters, more than ${maxChars}`);
  return trimmed;
}

export function joinScript(hook: string, body: readonly string[], cta: string): string {
  return [hook, ...body, cta].join(SCRIPT_PART_SEPARATOR);
}

/**
 * A checked copy of `value` as a `Script`: hook, each body section and cta trimmed, non-empty and
 * within `SCRIPT_LIMITS`; `full_text` is rebuilt from the parts so it always matches what is spoken.
 * Throws `ScriptValidationError` naming the first bad field.
 */
export function validateScript(value: unknown): Script {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ScriptValidationError('script', 'must be an object');
  const { hook, body, cta, full_text: fullText } = value as Record<string, unknown>;
  const checkedHook = text(hook, 'hook', SCRIPT_LIMITS.hookMaxChars);
  if (!Array.isArray(body)) throw new ScriptValidationError('body', 'must be an array of strings');
  if (body.length < SCRIPT_LIMITS.minSections || body.length > SCRIPT_LIMITS.maxSections) {
    throw new ScriptValidationError('body', `must have ${SCRIPT_LIMITS.minSections}–${SCRIPT_LIMITS.maxSections} sections, got ${body.length}`);
  }
  const checkedBody = body.map((section, index) => text(section, `body[${index}]`, SCRIPT_LIMITS.sectionMaxChars));
  const checkedCta = text(cta, 'cta', SCRIPT_LIMITS.ctaMaxChars);
  if (fullText !== undefined && typeof fullText !== 'string') throw new ScriptValidationError('full_text', 'must be a string when present');
  const { search_terms: searchTerms } = value as Record<string, unknown>;
  return {
    hook: checkedHook,
    body: checkedBody,
    cta: checkedCta,
    full_text: joinScript(checkedHook, checkedBody, checkedCta),
    ...(searchTerms === undefined ? {} : { search_terms: checkedSearchTerms(searchTerms, checkedBody.length + 2) }),
  };
}

/** Search terms: one short search per scene. */
function checkedSearchTerms(value: unknown, scenes: number): string[] {
  if (!Array.isArray(value) || value.length !== scenes) throw new ScriptValidationError('search_terms', `must be one search per scene (${scenes}: hook, each body section, cta)`);
  return value.map((search, scene) => text(search, `search_terms[${scene}]`, SCRIPT_LIMITS.searchMaxChars));
}
