import type { SafetyFlag, Vertical } from '../types';

/**
 * The rule table of the local safety checker, Korean and English side by side. Each rule is data:
 * where it applies, how bad a hit is, and the patterns that detect it. Patterns avoid the common
 * negated forms ("not investment advice", "returns are not guaranteed", "완치가 어렵습니다") so
 * that responsible wording is not punished.
 */

export interface SafetyRule {
  code: string;
  /** The verticals the rule applies to; every vertical when absent. */
  verticals?: readonly Vertical[];
  severity: SafetyFlag['severity'];
  message: string;
  /** Global (`g`) expressions; case sensitivity is each pattern's own. */
  patterns: readonly RegExp[];
  /** Flag only when the patterns match at least this many times in total (excess rules). */
  minMatches?: number;
  /** The match is personal data: the excerpt shows it masked. */
  maskExcerpt?: boolean;
}

/** Score lost per flag of each severity; a single high-severity hit fails the default threshold. */
export const SAFETY_PENALTIES: Readonly<Record<SafetyFlag['severity'], number>> = { low: 0.05, medium: 0.2, high: 0.5 };

/** Scripts scoring below this are held back for review. */
export const DEFAULT_SAFETY_THRESHOLD = 0.7;

/** Not preceded by a negation ("not guaranteed", "no risk-free", "don't cure"). */
const NOT = String.raw`(?<!(?:\bnot|\bnever|\bno|n't)\s)`;

export const SAFETY_RULES: readonly SafetyRule[] = [
  // ---- senior_health ----
  {
    code: 'health_cure_claim',
    verticals: ['senior_health'],
    severity: 'high',
    message: 'Claims that something cures a condition',
    patterns: [
      new RegExp(String.raw`${NOT}\b(?:cures?|cured|curing)\b`, 'giu'),
      /\bmiracle\s+(?:cure|remedy|treatment|pill)s?\b/giu,
      /\breverses?\s+(?:diabetes|cancer|dementia|alzheimer'?s|arthritis)\b/giu,
      /완치(?!(?:가|는)?\s*(?:어렵|불가|되지\s*않|안\s*되|할\s*수\s*없))/gu,
      /만병\s*통치/gu,
      /특효약/gu,
      /기적의\s*(?:치료|약|효과)/gu,
    ],
  },
  {
    code: 'health_certainty_claim',
    verticals: ['senior_health'],
    severity: 'high',
    message: 'Promises a certain or total effect',
    patterns: [
      /100\s*%\s*(?:효과|효능|완치|개선|effective|cure|success)/giu,
      /\b(?:guaranteed|proven)\s+to\s+(?:cure|heal|work|fix)\b/giu,
      /\bno\s+side\s+effects\b/giu,
      /부작용(?:이|은)?\s*(?:전혀|하나도)\s*없/gu,
    ],
  },
  {
    code: 'health_stop_medication',
    verticals: ['senior_health'],
    severity: 'high',
    message: 'Tells people to stop their medication',
    patterns: [
      /(?<!(?:n't|not|never)\s)\bstop\s+taking\s+(?:your\s+)?(?:medication|medicine|meds|pills|insulin)\b(?!\s+without)/giu,
      /\b(?:throw\s+away|ditch)\s+(?:your\s+)?(?:pills|medication|medicine)\b/giu,
      /약을?\s*끊(?!기\s*전)/gu,
      /복용을?\s*(?:중단|끊)(?:하세요|하십시오|해도)/gu,
    ],
  },
  {
    code: 'health_avoid_doctor',
    verticals: ['senior_health'],
    severity: 'high',
    message: 'Discourages seeing a doctor',
    patterns: [
      /\bno\s+need\s+(?:for|to\s+see)\s+(?:a\s+)?doctors?\b/giu,
      /\bdoctors?\s+(?:don't|do\s+not|won't)\s+want\s+you\s+to\s+know\b/giu,
      /병원(?:에)?\s*(?:갈|가실)\s*필요(?:가|는)?\s*없/gu,
      /의사(?:가|들이)?\s*(?:숨기는|알려\s*주지\s*않는)/gu,
    ],
  },
  // ---- finance ----
  {
    code: 'finance_guaranteed_return',
    verticals: ['finance'],
    severity: 'high',
    message: 'Promises or guarantees returns',
    patterns: [
      new RegExp(String.raw`${NOT}\bguaranteed\s+(?:returns?|profits?|gains?|income|payouts?)\b`, 'giu'),
      /\b(?:returns?|profits?|gains?)\s+(?:are\s+|is\s+)?guaranteed\b/giu,
      /\b(?:can't|cannot|won't)\s+lose\b/giu,
      /\bdouble\s+your\s+money\b/giu,
      /수익(?:을|이)?\s*보장(?!(?:하지|되지|은\s*없|이\s*없|할\s*수\s*없|하는\s*상품은\s*없))/gu,
      /원금(?:을|이)?\s*보장(?!(?:하지|되지|은\s*없|이\s*없|되지\s*않))/gu,
      /무조건\s*(?:오른|오릅|올라|상승|수익|벌|돈)/gu,
    ],
  },
  {
    code: 'finance_risk_free',
    verticals: ['finance'],
    severity: 'high',
    message: 'Presents an investment as free of risk',
    patterns: [
      new RegExp(String.raw`${NOT}\brisk[-\s]free\b`, 'giu'),
      /\b(?:zero|no)\s+risk\b(?!-)/giu,
      /무위험/gu,
      /리스크(?:가|는)?\s*(?:전혀\s*없|제로)/gu,
      /절대\s*손해\s*(?:보지|안)/gu,
    ],
  },
  {
    code: 'finance_hype',
    verticals: ['finance'],
    severity: 'medium',
    message: 'Speculative hype or tips presented as inside knowledge',
    patterns: [
      /\binsider\s+(?:tips?|info|information)\b/giu,
      /\bget\s+rich\s+quick\b/giu,
      /\bto\s+the\s+moon\b/giu,
      /\b(?:buy|sell)\s+(?:it\s+)?now\s+before\b/giu,
      /일확천금/gu,
      /대박\s*종목/gu,
      /급등\s*(?:주|종목)\s*(?:추천|공개)/gu,
      /내부\s*정보/gu,
      /작전\s*주/gu,
    ],
  },
  // ---- commerce ----
  {
    code: 'commerce_price_claim',
    verticals: ['commerce'],
    severity: 'medium',
    message: 'Unverifiable price guarantee',
    patterns: [/최저가\s*보장/gu, /\blowest\s+price\s+guaranteed\b/giu, /\bguaranteed\s+lowest\s+price\b/giu],
  },
  {
    code: 'commerce_false_scarcity',
    verticals: ['commerce'],
    severity: 'low',
    message: 'Pressure through scarcity',
    patterns: [/\bonly\s+\d+\s+left\b/giu, /\blast\s+chance\b/giu, /마감\s*임박/gu, /품절\s*임박/gu],
  },
  // ---- tech ----
  {
    code: 'tech_illegal_access',
    verticals: ['tech'],
    severity: 'medium',
    message: 'Instructions for hacking or piracy',
    patterns: [
      /\bhack(?:ing)?\s+(?:into|someone'?s|a\s+wi-?fi|accounts?|passwords?)\b/giu,
      /\bcrack(?:ed)?\s+(?:software|passwords?|licen[cs]es?)\b/giu,
      /\bpirated?\s+(?:software|games?|movies?)\b/giu,
      /해킹\s*(?:하는\s*)?방법/gu,
      /불법\s*다운로드/gu,
    ],
  },
  // ---- history ----
  {
    code: 'history_denial',
    verticals: ['history'],
    severity: 'high',
    message: 'Denies or distorts documented atrocities',
    patterns: [
      /\b(?:holocaust|genocide)\s+(?:(?:was|is)\s+(?:a\s+)?)?(?:hoax|myth|fabricat\w*|never\s+happened)\b/giu,
      /위안부(?:는|가)?\s*(?:자발적|매춘|거짓)/gu,
      /(?:학살|홀로코스트)(?:은|는)?\s*(?:날조|조작|거짓)/gu,
    ],
  },
  // ---- every vertical ----
  {
    code: 'hate_speech',
    severity: 'high',
    message: 'Hateful or demeaning language about a group',
    patterns: [
      /\b(?:subhumans?|go\s+back\s+to\s+your\s+country)\b/giu,
      /\b(?:kill|exterminate|eliminate|deport)\s+all\s+(?:the\s+)?(?:immigrants|jews|muslims|christians|women|gays|blacks|whites|asians|koreans|foreigners)\b/giu,
      /틀딱|급식충|맘충|한남충|김치녀|짱깨|쪽바리|개독/gu,
      /벌레\s*같은\s*(?:놈|것들|인간)/gu,
    ],
  },
  {
    code: 'self_harm_or_threat',
    severity: 'high',
    message: 'Encourages self-harm or threatens violence',
    patterns: [/\bkill\s+yourself\b/giu, /\bkys\b/giu, /자살\s*(?:하는\s*)?방법/gu, /죽어\s*버려/gu, /뒤져\s*라/gu],
  },
  {
    code: 'weapon_instructions',
    severity: 'high',
    message: 'Instructions for making weapons or explosives',
    patterns: [/\bhow\s+to\s+(?:make|build)\s+(?:a\s+)?(?:bomb|explosives?|pipe\s*bomb|gun)\b/giu, /(?:폭탄|폭발물|총기)\s*(?:만드는|제조)/gu],
  },
  {
    code: 'graphic_violence',
    severity: 'medium',
    message: 'Graphic violence',
    patterns: [/\b(?:behead(?:ed|ing)?|dismember(?:ed|ing|ment)?|mutilat(?:ed|ion|ing))\b/giu, /참수|토막\s*살인|난도질/gu],
  },
  {
    code: 'adult_content',
    severity: 'high',
    message: 'Sexual or adult content',
    patterns: [/\b(?:porn|porno|pornography|xxx|nudes|onlyfans|sex\s*tape)\b/giu, /야동|음란물|성인\s*사이트|19금\s*영상|몸캠/gu],
  },
  {
    code: 'personal_id_number',
    severity: 'high',
    message: 'A resident registration or card number',
    maskExcerpt: true,
    patterns: [
      /\b\d{6}\s*-\s*[1-4]\d{6}\b/gu,
      /\b\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])[1-4]\d{6}\b/gu,
      /\b(?:\d{4}[-\s]){3}\d{4}\b/gu,
    ],
  },
  {
    code: 'personal_contact',
    severity: 'medium',
    message: 'A phone number or e-mail address',
    maskExcerpt: true,
    patterns: [
      /\b01[016789][-.\s]?\d{3,4}[-.\s]?\d{4}\b/gu,
      /\b0(?:2|[3-6][1-5])[-.\s]\d{3,4}[-.\s]\d{4}\b/gu,
      /\+\d{1,3}[-.\s]?\(?\d{1,4}\)?[-.\s]?\d{3,4}[-.\s]?\d{4}\b/gu,
      /\(?\b\d{3}\)?[-.\s]\d{3}[-.\s]\d{4}\b/gu,
      /\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b/gu,
    ],
  },
  {
    code: 'clickbait_excess',
    severity: 'medium',
    message: 'Too much sensational or clickbait wording',
    minMatches: 3,
    patterns: [
      /[!?]*![!?]+/gu,
      /\b(?:shocking|you\s+won'?t\s+believe|mind[-\s]?blowing|insane|unbelievable|jaw[-\s]?dropping|gone\s+wrong|must[-\s]see)\b/giu,
      /충격|경악|소름|실화냐|역대급|대박|미쳤다|난리\s*났다|모르면\s*손해/gu,
      /\b[A-Z]{2,}(?:\s+[A-Z]{2,}){2,}\b/gu,
    ],
  },
];
