/**
 * The intro's title and the outro's call to action, drawn by libass like the captions (so every
 * script is shaped and ordered right): one ASS document per chunk, timed from the chunk's start,
 * each text in its template style and animation.
 */

export type TitleAnimation = 'none' | 'fade' | 'zoom_in' | 'slide_up';

export interface TitleStyle {
  font: string;
  fontSize: number;
  bold: boolean;
  position: 'top' | 'center' | 'bottom';
  /** '#RRGGBB'. */
  color: string;
  /** '#RRGGBB' or '#RRGGBBAA': a box behind the text; without it, an outline in `outlineColor`. */
  background?: string;
  outlineColor: string;
}

export interface TitleCard {
  text: string;
  startSec: number;
  endSec: number;
  animation: TitleAnimation;
  style: TitleStyle;
}

/** An ASS colour (&HAABBGGRR, alpha 00 = opaque) from '#RGB', '#RRGGBB' or '#RRGGBBAA' (CSS alpha, FF = opaque). */
export function assColor(hex: string): string {
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(hex.trim());
  const match = /^#([0-9a-f]{6})([0-9a-f]{2})?$/i.exec(short ? `#${short[1]}${short[1]}${short[2]}${short[2]}${short[3]}${short[3]}` : hex.trim());
  if (!match) throw new Error(`colour ${JSON.stringify(hex)} is not #RGB, #RRGGBB or #RRGGBBAA`);
  const rgb = match[1] as string;
  const alpha = 255 - Number.parseInt(match[2] ?? 'ff', 16);
  const pair = (value: number) => value.toString(16).padStart(2, '0').toUpperCase();
  return `&H${pair(alpha)}${rgb.slice(4, 6).toUpperCase()}${rgb.slice(2, 4).toUpperCase()}${rgb.slice(0, 2).toUpperCase()}`;
}

/** ASS time, h:mm:ss.cc. */
export function assTime(seconds: number): string {
  const centis = Math.max(0, Math.round(seconds * 100));
  const h = Math.floor(centis / 360000);
  const m = Math.floor((centis % 360000) / 6000);
  const s = Math.floor((centis % 6000) / 100);
  return `${h}:${String(m).padStart(2, '0')}:${String(s).padStart(2, '0')}.${String(centis % 100).padStart(2, '0')}`;
}

/** Text as ASS reads it literally: override braces and backslashes neutralised, lines as \N. */
export function assText(text: string): string {
  return text
    .replace(/\\/g, '\u29F5')
    .replace(/\{/g, '\uFF5B')
    .replace(/\}/g, '\uFF5D')
    .replace(/\r?\n/g, '\\N');
}

const ALIGNMENT = { top: 8, center: 5, bottom: 2 } as const;
/** Where a title's anchor sits, as a share of the frame's height. */
const ANCHOR_Y = { top: 0.2, center: 0.5, bottom: 0.72 } as const;

/**
 * The card's placement and animation. A card already showing when the window starts (a chunk
 * boundary inside it) has made its entrance in the chunk before: it keeps only its exit.
 */
function animationTags(card: TitleCard, frame: { width: number; height: number }, entered: boolean): string {
  const fadeMs = Math.min(400, Math.round(((card.endSec - card.startSec) * 1000) / 4));
  const x = Math.round(frame.width / 2);
  const y = Math.round(frame.height * ANCHOR_Y[card.style.position]);
  const anchor = `\\an${ALIGNMENT[card.style.position]}`;
  const placed = `${anchor}\\pos(${x},${y})`;
  if (entered) return card.animation === 'fade' ? `{${placed}\\fad(0,${fadeMs})}` : `{${placed}}`;
  switch (card.animation) {
    case 'none':
      return `{${placed}}`;
    case 'fade':
      return `{${placed}\\fad(${fadeMs},${fadeMs})}`;
    case 'zoom_in':
      return `{${placed}\\fad(${fadeMs},0)\\fscx70\\fscy70\\t(0,${fadeMs * 2},\\fscx100\\fscy100)}`;
    case 'slide_up':
      return `{${anchor}\\move(${x},${y + Math.round(frame.height * 0.08)},${x},${y},0,${fadeMs * 2})\\fad(${fadeMs},0)}`;
  }
}

/**
 * The titles showing between `fromSec` and `toSec` of the video, timed from `fromSec`, as a whole
 * ASS document; `rightToLeft` lets libass take a line's direction from its text (Arabic).
 */
export function titlesAss(cards: readonly TitleCard[], frame: { width: number; height: number }, window: { fromSec: number; toSec: number }, rightToLeft: boolean): string {
  const visible = cards.filter((card) => card.endSec > window.fromSec && card.startSec < window.toSec && card.text.trim() !== '');
  const styles = visible.map((card, index) => {
    const { style } = card;
    const boxed = style.background !== undefined;
    const outline = boxed ? Math.round(style.fontSize * 0.35) : Math.max(2, Math.round(style.fontSize * 0.06));
    const margin = Math.round(frame.width * 0.08);
    return [
      `Style: T${index}`,
      style.font,
      style.fontSize,
      assColor(style.color),
      assColor(style.color),
      assColor(boxed ? (style.background as string) : style.outlineColor),
      '&H80000000',
      style.bold ? -1 : 0,
      0, 0, 0, 100, 100, 0, 0,
      boxed ? 3 : 1,
      outline,
      0,
      ALIGNMENT[style.position],
      margin,
      margin,
      0,
      rightToLeft ? -1 : 1,
    ].join(',');
  });
  const events = visible.map(
    (card, index) =>
      `Dialogue: 0,${assTime(card.startSec - window.fromSec)},${assTime(card.endSec - window.fromSec)},T${index},,0,0,0,,${animationTags(card, frame, card.startSec < window.fromSec)}${assText(card.text.trim())}`,
  );
  return assDocument(frame, 0, styles, events);
}

/**
 * A whole ASS document for a frame: its styles and events under the v4+ headers. `wrapStyle` 0
 * wraps lines evenly, 2 only at \N.
 */
export function assDocument(frame: { width: number; height: number }, wrapStyle: 0 | 2, styles: readonly string[], events: readonly string[]): string {
  return [
    '[Script Info]',
    'ScriptType: v4.00+',
    `PlayResX: ${frame.width}`,
    `PlayResY: ${frame.height}`,
    `WrapStyle: ${wrapStyle}`,
    'ScaledBorderAndShadow: yes',
    '',
    '[V4+ Styles]',
    'Format: Name, Fontname, Fontsize, PrimaryColour, SecondaryColour, OutlineColour, BackColour, Bold, Italic, Underline, StrikeOut, ScaleX, ScaleY, Spacing, Angle, BorderStyle, Outline, Shadow, Alignment, MarginL, MarginR, MarginV, Encoding',
    ...styles,
    '',
    '[Events]',
    'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
    ...events,
    '',
  ].join('\n');
}
