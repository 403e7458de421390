import type { CallOptions, ContentFormat, Language, ScriptRequest, ScriptResult, ScriptWriter } from '../types';
import { PermanentProviderError } from '../errors';
import { PHRASES, fill, type LanguageText, type ToneText } from './phrases';
import { digestSource, type SourceDigest } from './source';
import {
  cleanText,
  contentWords,
  estimateSpeechSeconds,
  graphemeLength,
  pick,
  rankSentences,
  seedOf,
  speakable,
  topKeywords,
  truncate,
} from './text';
import { SCRIPT_LIMITS, joinScript, validateScript } from './validate';

/**
 * The offline script writer, the embedded default: template wording per tone and vertical
 * (providers/script/phrases.ts) around sentences extracted from the source item. Deterministic:
 * every choice is seeded from a hash of the request, so a retried activity writes the same script.
 */

export const LOCAL_WRITER_MODEL = 'local-template-v1';

interface FormatPlan {
  sections: number;
  sentencesPerSection: number;
  /** Characters per section in languages written with spaces between words, and in Korean, Japanese and Chinese. */
  sectionMaxChars: { spaced: number; dense: number };
  /** Spoken length the writer aims for; short videos must land in it. */
  seconds: readonly [number, number];
}

export const FORMAT_PLANS: Readonly<Record<ContentFormat, FormatPlan>> = {
  short: { sections: 3, sentencesPerSection: 1, sectionMaxChars: { spaced: 220, dense: 105 }, seconds: [30, 60] },
  mid: { sections: 5, sentencesPerSection: 2, sectionMaxChars: { spaced: 380, dense: 190 }, seconds: [60, 180] },
  long: { sections: 7, sentencesPerSection: 3, sectionMaxChars: { spaced: 560, dense: 280 }, seconds: [120, 600] },
};

/** Room the spoken topic may take inside a hook. */
const HOOK_TOPIC_CHARS = { spaced: 70, dense: 40 } as const;

/** Korean, Japanese and Chinese say as much in about half the characters. */
const DENSE_SCRIPTS: ReadonlySet<Language> = new Set(['ko', 'ja', 'zh']);

export function density(language: Language): 'spaced' | 'dense' {
  return DENSE_SCRIPTS.has(language) ? 'dense' : 'spaced';
}

function sectionMaxChars(plan: FormatPlan, language: Language): number {
  return plan.sectionMaxChars[density(language)];
}

function leadFor(tone: ToneText, index: number, count: number, seed: string): string {
  const position = index === 0 ? 'first' : index === count - 1 ? 'last' : 'middle';
  const options = tone.leads[position];
  // Middle sections take the lead-ins in turn; once they are used up, sections go without one
  // rather than repeat a phrase within the script.
  return position === 'middle' ? (options[index - 1] ?? '') : pick(options, seed, `lead-${position}`);
}

/** Spreads sentences over `count` groups evenly and in order, each within the section budget. */
function groupSentences(sentences: readonly string[], count: number, maxChars: number): string[][] {
  const groups: string[][] = Array.from({ length: count }, () => []);
  sentences.forEach((sentence, index) => {
    const group = groups[Math.floor((index * count) / sentences.length)] as string[];
    const used = graphemeLength(group.join(' '));
    if (group.length === 0) group.push(truncate(sentence, maxChars));
    else if (used + 1 + graphemeLength(sentence) <= maxChars) group.push(sentence);
  });
  return groups;
}

function tagsFrom(candidates: readonly string[]): string[] {
  const seen = new Set<string>();
  const tags: string[] = [];
  for (const candidate of candidates) {
    const tag = Array.from(candidate.replace(/[^\p{L}\p{N}]+/gu, '')).slice(0, SCRIPT_LIMITS.tagMaxChars).join('');
    const key = tag.toLowerCase();
    if (graphemeLength(tag) < 2 || /^\d+$/.test(tag) || seen.has(key)) continue;
    seen.add(key);
    tags.push(tag);
    if (tags.length === SCRIPT_LIMITS.maxTags) break;
  }
  return tags;
}

export class LocalScriptWriter implements ScriptWriter {
  readonly name = 'local-writer';

  async write(request: ScriptRequest, options: CallOptions = {}): Promise<ScriptResult> {
    options.signal?.throwIfAborted();
    const startedAt = performance.now();
    const { language, vertical, tone: toneName, format } = request;
    const text = PHRASES[language];
    if (!text) throw new PermanentProviderError(`the local script writer has no phrases in language "${language}"; write the script yourself or configure an AI writer`);
    const tone = text.tones[toneName];
    const verticalText = text.verticals[vertical];
    const plan = FORMAT_PLANS[format];
    const maxChars = sectionMaxChars(plan, language);

    const userTitle = cleanText((request.title ?? '').slice(0, 1000));
    const digest = digestSource(request.sourceData, request.topic ?? request.title ?? '', language);
    const subject = userTitle || digest.headline || cleanText((request.topic ?? '').slice(0, 1000));
    if (subject === '') throw new Error('LocalScriptWriter needs a topic, a title or source data with text');
    const seed = seedOf({ language, vertical, tone: toneName, format, topic: request.topic, title: request.title, sourceData: request.sourceData });

    const spokenTopic = truncate(speakable(subject), HOOK_TOPIC_CHARS[density(language)], '') || verticalText.subject;
    const hook = truncate(fill(pick(tone.hooks, seed, 'hook'), { topic: spokenTopic }), SCRIPT_LIMITS.hookMaxChars);
    const disclaimer = verticalText.disclaimer;
    const cta = [fill(pick(tone.ctas, seed, 'cta'), { subject: verticalText.subject }), disclaimer].filter(Boolean).join(' ');

    const wanted = plan.sections * plan.sentencesPerSection;
    const spoken = digest.sentences.map(speakable).filter((sentence) => sentence !== '');
    const chosen = digest.ranked ? spoken.slice(0, wanted) : rankSentences(spoken, `${subject} ${request.topic ?? ''}`, wanted);
    const groups = groupSentences(chosen, plan.sections, maxChars);
    // A headline read inside a generic sentence sounds wrong: sources get the vertical's reference instead.
    const angleTopic = digest.kind === 'topic' ? spokenTopic : verticalText.reference;
    const angles = this.rotatedAngles(verticalText.angles, seed).map((angle) => fill(angle, { topic: angleTopic }));
    for (const group of groups) if (group.length === 0 && angles.length > 0) group.push(angles.shift() as string);

    const compose = (): string[] => groups.map((group, index) => leadFor(tone, index, groups.length, seed) + group.join(' '));
    const seconds = (): number => estimateSpeechSeconds(joinScript(hook, compose(), cta), language);
    const [minSeconds, maxSeconds] = plan.seconds;
    // Too short: add fallback sentences to the shortest sections. Too long: drop trailing sentences.
    while (seconds() < minSeconds && angles.length > 0) {
      const shortest = groups.reduce((a, b) => (graphemeLength(a.join(' ')) <= graphemeLength(b.join(' ')) ? a : b));
      shortest.push(angles.shift() as string);
    }
    while (seconds() > maxSeconds) {
      const longest = groups.reduce((a, b) => (graphemeLength(a.join(' ')) >= graphemeLength(b.join(' ')) ? a : b));
      if (longest.length > 1) longest.pop();
      else if (!this.shorten(longest, language)) break;
    }

    const body = compose();
    // Each scene is searched by its own most frequent words, else the subject's, else the vertical's tags.
    const search = (words: string[]): string => words.reduce((query, word) => (query === '' ? word : Array.from(`${query} ${word}`).length <= SCRIPT_LIMITS.searchMaxChars ? `${query} ${word}` : query), '');
    const fallback = search([...topKeywords(subject, 2), ...verticalText.tags].filter((word) => Array.from(word).length <= SCRIPT_LIMITS.searchMaxChars));
    const searchTerms = [hook, ...body, cta].map((scene) => search(topKeywords(scene, 3).filter((word) => Array.from(word).length <= SCRIPT_LIMITS.searchMaxChars)) || fallback);
    const script = validateScript({ hook, body, cta, ...(searchTerms.every((terms) => terms !== '') ? { search_terms: searchTerms } : {}) });
    const title = userTitle ? truncate(userTitle, SCRIPT_LIMITS.titleMaxChars) : this.title(tone, subject, seed);
    const tags = tagsFrom([
      ...digest.keywords,
      // Finance facts come from one template: their frequent words are the template's, not the story's.
      ...(digest.kind === 'finance' ? [] : [...topKeywords(subject, 4), ...topKeywords(chosen.join(' '), 3, 2)]),
      ...verticalText.tags,
    ]);
    const description = this.description(text, script.hook, chosen, digest, disclaimer, tags);
    const rawOutput = JSON.stringify({ script, title, description, tags });
    options.onProgress?.(100);
    return {
      script,
      title,
      description,
      tags,
      usage: {
        service: 'local-writer',
        operation: 'script_generation',
        inputUnits: this.inputChars(request),
        outputUnits: Array.from(rawOutput).length,
        durationMs: Math.round(performance.now() - startedAt),
        estimatedCostUsd: 0,
        model: LOCAL_WRITER_MODEL,
      },
      exchange: {
        model: LOCAL_WRITER_MODEL,
        prompt: this.prompt(request, digest, subject),
        parameters: { language, vertical, tone: toneName, format, sourceKind: digest.kind, sections: plan.sections, seed: seed.slice(0, 16) },
        rawOutput,
      },
    };
  }

  /** The vertical's fallback sentences, starting at a seeded position so topics vary. */
  private rotatedAngles(angles: readonly string[], seed: string): string[] {
    const start = angles.indexOf(pick(angles, seed, 'angles'));
    return [...angles.slice(start), ...angles.slice(0, start)];
  }

  /** Cuts a one-sentence section to its first sentence-like clause; false when nothing can go. */
  private shorten(group: string[], language: Language): boolean {
    const sentence = group[0] ?? '';
    const words = sentence.split(' ');
    if (words.length <= 8) return false;
    group[0] = `${words.slice(0, Math.ceil(words.length * 0.75)).join(' ').replace(/[,;:]$/, '')}${language === 'ko' ? '.' : '…'}`;
    return true;
  }

  private title(tone: ToneText, subject: string, seed: string): string {
    const pattern = pick(tone.titles, seed, 'title');
    const room = SCRIPT_LIMITS.titleMaxChars - graphemeLength(pattern.replace('{topic}', ''));
    const title = truncate(fill(pattern, { topic: truncate(subject, room) }), SCRIPT_LIMITS.titleMaxChars);
    return title.charAt(0).toUpperCase() + title.slice(1);
  }

  private description(text: LanguageText, hook: string, chosen: readonly string[], digest: SourceDigest, disclaimer: string | undefined, tags: readonly string[]): string {
    const summary = truncate(chosen.join(' '), 1000);
    const parts = [hook, summary, digest.link ? `${text.sourceLabel}: ${digest.link}` : '', disclaimer ?? '', tags.map((tag) => `#${tag}`).join(' ')];
    return truncate(parts.filter((part) => part !== '').join('\n\n'), SCRIPT_LIMITS.descriptionMaxChars);
  }

  private inputChars(request: ScriptRequest): number {
    return (request.topic ?? '').length + (request.title ?? '').length + (request.sourceData ? JSON.stringify(request.sourceData).length : 0);
  }

  /** A compact, readable account of what was asked, stored with the output in `ai_outputs`. */
  private prompt(request: ScriptRequest, digest: SourceDigest, subject: string): string {
    const focus = contentWords(subject).slice(0, 8).join(' ');
    return truncate(
      `${request.format} script, ${request.language}, vertical=${request.vertical}, tone=${request.tone}, source=${digest.kind}` +
        ` (${digest.sentences.length} sentences${digest.link ? `, ${digest.link}` : ''}), subject="${truncate(subject, 120)}", keywords="${focus}"`,
      600,
    );
  }
}
