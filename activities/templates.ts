import { ApplicationFailure } from '@temporalio/common';
import type { PlanFeatures, Project, Template, TemplateData, TemplateTextStyle } from '../db/models';
import type { Branding } from '../db/repositories/plans';
import type { Stores } from '../db/stores';
import { moduleLogger } from '../lib/logger';
import { captionCues, spokenWords, type CaptionStyle, type SpokenWord } from '../providers/captions';
import type { TitleStyle } from '../providers/render/titles';
import type { Language, RenderDesign, SubtitleCue, TemplateLook } from '../providers/types';

const log = moduleLogger('templates');

/** What the owner's plan changes in a production: its features and, with white_label, the organization's branding. */
export interface PlanLook {
  features: PlanFeatures;
  branding: Branding | null;
}

export async function planLookOf(db: Stores, project: Project): Promise<PlanLook> {
  const { features } = await db.plans.featuresOf(project);
  return { features, branding: features.white_label ? await db.plans.brandingOf(project) : null };
}

/**
 * The project's chosen template (style_preset.template_id), else the system template for its
 * format and vertical. A premium template (`is_premium`) needs `advanced_templates`: the API
 * refuses it on other plans, and when the owner's plan was downgraded since, the production falls
 * back to the system template with a warning rather than failing — a downgrade must not make every
 * (scheduled) production of the project fail, and the preset is kept, so upgrading restores it.
 */
export async function templateFor(db: Stores, project: Project, features: PlanFeatures): Promise<Template> {
  const { Template } = db.models;
  const chosen = typeof project.style_preset?.template_id === 'string' ? await Template.findByPk(project.style_preset.template_id) : null;
  if (chosen && chosen.is_premium && !features.advanced_templates) {
    log.warn({ projectId: project.id, templateId: chosen.id }, "premium template not used: the owner's plan no longer includes advanced_templates; the system template renders instead");
  } else if (chosen) {
    return chosen;
  }
  const candidates = await Template.findAll({
    where: { template_type: 'system', content_format: project.content_format, is_active: true },
    order: [['created_at', 'ASC']],
  });
  const template = candidates.find((t) => t.vertical === project.vertical) ?? candidates.find((t) => t.vertical === null) ?? candidates[0];
  if (!template) throw ApplicationFailure.nonRetryable(`no active system template for format ${project.content_format}`, 'NoTemplate');
  return template;
}

/** A template's frame from its resolution ("WIDTHxHEIGHT"). */
export function frameOf(resolution: string): { width: number; height: number } {
  const match = /^(\d{3,4})x(\d{3,4})$/.exec(resolution);
  if (!match) throw ApplicationFailure.nonRetryable(`template resolution "${resolution}" is not WIDTHxHEIGHT`, 'BadTemplate');
  return { width: Number(match[1]), height: Number(match[2]) };
}

/**
 * How many shots a scene's picture is shown in: a moving picture takes a new move about every
 * `scene_duration` seconds of a longer scene (the template's pace); a still picture and a clip stay
 * one shot.
 */
export function shotsPerScene(data: TemplateData, kind: 'image' | 'video', sceneSec: number): number {
  const { scene_duration: every, motion } = data.elements.body;
  if (kind === 'video' || motion === 'static' || !(every > 0)) return 1;
  return Math.max(1, Math.round(sceneSec / every));
}

/** A title's style: the template's size, weight, place and colours, in the look's font. */
function titleStyle(style: TemplateTextStyle, look: TemplateLook): TitleStyle {
  return {
    font: look.font,
    fontSize: style.font_size,
    bold: style.font_weight === 'bold',
    position: style.position,
    color: style.color ?? look.colors.text ?? '#FFFFFF',
    ...(style.background ? { background: style.background } : {}),
    outlineColor: '#000000',
  };
}

/** The captions' style: over pictures, white unless the template says otherwise, the spoken word in the primary colour. */
export function captionStyleOf(data: TemplateData, look: TemplateLook): CaptionStyle {
  const caption = data.elements.body.caption;
  return {
    mode: caption.mode ?? 'karaoke',
    font: look.font,
    fontSize: caption.font_size,
    bold: caption.font_weight === 'bold',
    color: caption.color ?? '#FFFFFF',
    highlightColor: caption.highlight_color ?? look.colors.primary,
    outlineColor: '#000000',
    ...(caption.background ? { background: caption.background } : {}),
    position: caption.position,
    maxEm: caption.max_chars_per_line,
    wordsPerGroup: 3,
  };
}

/** What a production shows besides its scenes: the intro's title and the outro's call to action. */
export interface DesignTexts {
  title: string;
  cta: string;
}

/**
 * The render's design from the template: its motion and transition, the intro with the title and
 * the outro with the call to action (each when it lasts), and the voice's words as captions in the
 * template's caption style (speech recorded before words were kept: its lines cut into words).
 */
export function renderDesignOf(
  data: TemplateData,
  look: TemplateLook,
  language: Language,
  texts: DesignTexts,
  speech: { cues: readonly SubtitleCue[]; segments: readonly { startSec: number; endSec: number }[]; words?: readonly SpokenWord[] },
): RenderDesign {
  const { intro, body, outro } = data.elements;
  const style = captionStyleOf(data, look);
  const cues = captionCues(speech.words ?? spokenWords(speech.cues, speech.segments, language), style, language);
  return {
    motion: body.motion,
    transition: body.transition,
    ...(intro.duration > 0 && texts.title.trim() !== ''
      ? { intro: { text: texts.title.trim(), durationSec: intro.duration, animation: intro.animation, style: titleStyle(intro.title, look) } }
      : {}),
    ...(outro.duration > 0 && texts.cta.trim() !== ''
      ? { outro: { text: texts.cta.trim(), durationSec: outro.duration, animation: outro.animation, style: titleStyle(outro.cta, look) } }
      : {}),
    ...(cues.length > 0 ? { captions: { cues, style } } : {}),
  };
}
