import Joi from 'joi';
import type { ContentScript } from '../../db/models';
import { joinScript, SCRIPT_LIMITS } from '../../providers/script/validate';
import { splitSentences } from '../../providers/text-layout';
import { text } from './contents-common';

/**
 * The creator's own script, which `POST /projects/:projectId/contents` and `PATCH /contents/:id`
 * take as `script` (its parts) or `script_text` (plain text split into scenes). It is stored marked
 * `source: 'creator'` (db/models/json.ts), with `full_text` derived from its parts, so the
 * production keeps it instead of writing one. Its parts keep the writers' limits (SCRIPT_LIMITS).
 */

/** The parts of a script as the creator gives them; validation turns `script_text` into these too. */
export interface ScriptParts {
  hook: string;
  body: string[];
  cta: string;
}

const SCRIPT_TEXT_MAX_CHARS = 20_000;

export const scriptSchema = Joi.object({
  hook: text(SCRIPT_LIMITS.hookMaxChars).trim().min(1).required(),
  body: Joi.array().items(text(SCRIPT_LIMITS.sectionMaxChars).trim().min(1)).max(SCRIPT_LIMITS.maxSections).required(),
  cta: text(SCRIPT_LIMITS.ctaMaxChars).trim().min(1).required(),
  full_text: Joi.any().forbidden().messages({ 'any.unknown': 'is derived from hook, body and cta: leave it out' }),
});

/** `sentences` in `groups` runs of consecutive sentences whose sizes differ by one at most. */
function groupEvenly(sentences: readonly string[], groups: number): string[] {
  const count = Math.min(groups, sentences.length);
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < count; i++) {
    const to = from + Math.floor(sentences.length / count) + (i < sentences.length % count ? 1 : 0);
    out.push(sentences.slice(from, to).join(' '));
    from = to;
  }
  return out;
}

/**
 * The scenes of a plain-text script: its first sentence is the hook, its last the call to action,
 * each sentence between them a body section (grouped evenly into at most SCRIPT_LIMITS.maxSections
 * sections when there are more). Sentences end at sentence punctuation, Korean sentence endings
 * and newlines (providers/text-layout.ts). A problem is returned as the message that names it.
 */
function splitScriptText(value: string): { parts: ScriptParts } | { problem: string } {
  const sentences = splitSentences(value);
  if (sentences.length < 2) {
    return { problem: `must hold at least two sentences (the first is the hook, the last the call to action); it holds ${sentences.length}` };
  }
  const hook = sentences[0]!;
  const cta = sentences[sentences.length - 1]!;
  const body = groupEvenly(sentences.slice(1, -1), SCRIPT_LIMITS.maxSections);
  if (hook.length > SCRIPT_LIMITS.hookMaxChars) return { problem: `its first sentence, the hook, has ${hook.length} characters, more than ${SCRIPT_LIMITS.hookMaxChars}` };
  if (cta.length > SCRIPT_LIMITS.ctaMaxChars) return { problem: `its last sentence, the call to action, has ${cta.length} characters, more than ${SCRIPT_LIMITS.ctaMaxChars}` };
  const long = body.findIndex((section) => section.length > SCRIPT_LIMITS.sectionMaxChars);
  if (long >= 0) return { problem: `body section ${long + 1} has ${body[long]!.length} characters, more than ${SCRIPT_LIMITS.sectionMaxChars}` };
  return { parts: { hook, body, cta } };
}

/** Plain text, validated and converted to its parts by `splitScriptText`. */
export const scriptTextSchema = text(SCRIPT_TEXT_MAX_CHARS).custom((value: string, helpers) => {
  const split = splitScriptText(value);
  return 'parts' in split ? split.parts : helpers.message({ custom: split.problem });
}, 'split into scenes: the first sentence is the hook, the last the call to action, the others the body');

/** The script stored for the creator's parts: marked as the creator's, `full_text` derived. */
export function creatorScript(parts: ScriptParts): ContentScript {
  return { hook: parts.hook, body: parts.body, cta: parts.cta, full_text: joinScript(parts.hook, parts.body, parts.cta), source: 'creator' };
}
