import type { CallOptions, SafetyChecker, SafetyFlag, SafetyRequest, SafetyResult } from '../types';
import { DEFAULT_SAFETY_THRESHOLD, SAFETY_PENALTIES, SAFETY_RULES, type SafetyRule } from './rules';

/**
 * The offline safety checker, the embedded default: the rule table of ./rules.ts applied to the
 * title and every spoken part. One flag per rule that fires; the score is 1 minus the penalties of
 * the flags, clamped to [0, 1] with two decimals (`contents.safety_score` is DECIMAL(3,2)).
 */

export { DEFAULT_SAFETY_THRESHOLD, SAFETY_PENALTIES, SAFETY_RULES, type SafetyRule } from './rules';

export const LOCAL_SAFETY_MODEL = 'local-rules-v1';

const EXCERPT_CONTEXT = 25;

export interface LocalSafetyCheckerOptions {
  rules?: readonly SafetyRule[];
  penalties?: Readonly<Record<SafetyFlag['severity'], number>>;
}

/** Whether a score lets a script go on without review. */
export function passesSafety(score: number, threshold: number = DEFAULT_SAFETY_THRESHOLD): boolean {
  return score >= threshold;
}

export function scoreFromFlags(flags: readonly SafetyFlag[], penalties = SAFETY_PENALTIES): number {
  const penalty = flags.reduce((sum, flag) => sum + penalties[flag.severity], 0);
  return Math.round(Math.min(1, Math.max(0, 1 - penalty)) * 100) / 100;
}

/**
 * The text as the rules see it: compatibility forms folded (full-width "１００％" → "100%") and
 * zero-width characters removed, so simple evasions do not slip through.
 */
function normalize(text: string): string {
  return text.normalize('NFKC').replace(/[\u200B-\u200D\u2060\uFEFF\u00AD]/g, '');
}

function mask(text: string): string {
  return text.replace(/[\p{L}\p{N}]/gu, '*');
}

function excerptAt(text: string, index: number, match: string, masked: boolean): string {
  const before = text.slice(Math.max(0, index - EXCERPT_CONTEXT), index);
  const after = text.slice(index + match.length, index + match.length + EXCERPT_CONTEXT);
  const excerpt = `${before}${masked ? mask(match) : match}${after}`.replace(/\s+/g, ' ').trim();
  // Personal data nearby (another number or address in the context, perhaps cut in half) is masked too.
  return masked ? excerpt.replace(/\S*[\d@]\S*/gu, mask) : excerpt;
}

export class LocalSafetyChecker implements SafetyChecker {
  readonly name = 'local-safety';
  private readonly rules: readonly SafetyRule[];
  private readonly penalties: Readonly<Record<SafetyFlag['severity'], number>>;

  constructor(options: LocalSafetyCheckerOptions = {}) {
    this.rules = options.rules ?? SAFETY_RULES;
    this.penalties = options.penalties ?? SAFETY_PENALTIES;
    for (const rule of this.rules) {
      for (const pattern of rule.patterns) {
        if (!pattern.global) throw new Error(`safety rule ${rule.code}: pattern ${pattern.source} needs the g flag`);
      }
    }
  }

  async check(request: SafetyRequest, options: CallOptions = {}): Promise<SafetyResult> {
    options.signal?.throwIfAborted();
    const startedAt = performance.now();
    const text = normalize([request.title, request.script.hook, ...request.script.body, request.script.cta].join('\n'));
    const flags = this.rules
      .filter((rule) => !rule.verticals || rule.verticals.includes(request.vertical))
      .flatMap((rule) => this.apply(rule, text));
    const score = scoreFromFlags(flags, this.penalties);
    options.onProgress?.(100);
    return {
      score,
      flags,
      usage: {
        service: 'local-safety',
        operation: 'safety_check',
        inputUnits: text.length,
        outputUnits: flags.length,
        durationMs: Math.round(performance.now() - startedAt),
        estimatedCostUsd: 0,
        model: LOCAL_SAFETY_MODEL,
      },
      exchange: {
        model: LOCAL_SAFETY_MODEL,
        prompt: `safety check, ${request.language}, vertical=${request.vertical}, ${text.length} characters, ${this.rules.length} rules`,
        parameters: { vertical: request.vertical, language: request.language, penalties: this.penalties },
        rawOutput: JSON.stringify({ score, flags }),
      },
    };
  }

  private apply(rule: SafetyRule, text: string): SafetyFlag[] {
    let count = 0;
    let first: RegExpExecArray | undefined;
    for (const pattern of rule.patterns) {
      for (const match of text.matchAll(pattern)) {
        count += 1;
        if (!first || match.index < first.index) first = match;
      }
    }
    if (!first || count < (rule.minMatches ?? 1)) return [];
    return [{
      code: rule.code,
      severity: rule.severity,
      message: count > 1 ? `${rule.message} (${count} matches)` : rule.message,
      excerpt: excerptAt(text, first.index, first[0], rule.maskExcerpt === true),
    }];
  }
}
