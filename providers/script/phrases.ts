import type { Language, Tone, Vertical } from '../types';

/**
 * The wording of the local script writer, as data: per language, per tone (hooks, section
 * lead-ins, calls to action, title patterns) and per vertical (fallback body sentences, the
 * disclaimer, default tags, what the channel covers). `{topic}` and `{subject}` are filled in.
 * Korean templates never attach a batchim-dependent particle (은/는, 이/가, 을/를) to `{topic}`.
 */

export interface ToneText {
  hooks: readonly string[];
  /** Lead-ins of the body sections by position. */
  leads: { first: readonly string[]; middle: readonly string[]; last: readonly string[] };
  ctas: readonly string[];
  titles: readonly string[];
}

export interface VerticalText {
  /** Self-contained body sentences used when the source gives too little to say. */
  angles: readonly string[];
  disclaimer?: string;
  tags: readonly string[];
  /** What the channel covers, for calls to action. */
  subject: string;
  /** Stands for `{topic}` in fallback sentences when the topic is a headline rather than a theme. */
  reference: string;
}

export interface FinanceText {
  headline: string;
  fact: string;
  up: string;
  down: string;
  flat: string;
  summary: string;
}

export interface LanguageText {
  tones: Readonly<Record<Tone, ToneText>>;
  verticals: Readonly<Record<Vertical, VerticalText>>;
  finance: FinanceText;
  sourceLabel: string;
}

const en: LanguageText = {
  tones: {
    professional: {
      hooks: ['Here is what you need to know about {topic}.', '{topic}: the key facts in under a minute.', "Let's look at {topic} and why it matters."],
      leads: { first: ['First: ', 'To begin: '], middle: ['Next: ', 'Also worth noting: ', 'Another point: '], last: ['Finally: ', 'One last point: '] },
      ctas: ['Follow for more {subject}, explained clearly every day.', 'Subscribe for reliable {subject} every day.'],
      titles: ['{topic}: What You Need to Know', '{topic}, Explained'],
    },
    casual: {
      hooks: ["Okay, let's talk about {topic}.", "Ever wondered about {topic}? Let's break it down.", 'Quick one today: {topic}.'],
      leads: { first: ["So here's the deal. ", 'Okay, first up. '], middle: ['Plus, get this. ', "And here's the fun part. ", 'Oh, and another thing. '], last: ['Last one. ', 'And finally. '] },
      ctas: ['If this helped, hit follow for more {subject}!', 'Drop a comment with your take, and follow for more {subject}.'],
      titles: ['{topic}, Simply Explained', "Let's Talk About {topic}"],
    },
    urgent: {
      hooks: ['Stop scrolling. {topic} matters right now.', 'This just in: {topic}.', 'Before you do anything else today, hear this about {topic}.'],
      leads: { first: ['Here is what matters right now. ', 'Most important first. '], middle: ['Pay attention to this. ', 'This part is key. ', 'Keep this in mind. '], last: ['Bottom line. ', 'Remember this. '] },
      ctas: ['Follow now so you catch the next round of {subject}.', 'Turn on notifications to get {subject} first.'],
      titles: ['Right Now: {topic}', '{topic}: Why It Matters Today'],
    },
    mysterious: {
      hooks: ['Nobody is talking about this side of {topic}.', "There's something strange about {topic}.", 'What if everything you knew about {topic} was only half the story?'],
      leads: { first: ['The first clue. ', 'It starts here. '], middle: ["But here's where it gets strange. ", 'Look closer. ', 'And yet, something does not add up. '], last: ['And the final piece of the puzzle. ', 'The last clue. '] },
      ctas: ['Follow to uncover more {subject} like this.', "The story isn't over. Follow for more {subject}."],
      titles: ['The Hidden Side of {topic}', '{topic}: The Untold Story'],
    },
  },
  verticals: {
    finance: {
      subject: 'market news',
      reference: 'this move',
      tags: ['finance', 'stocks', 'investing'],
      disclaimer: 'This is general information, not investment advice. Do your own research before investing.',
      angles: [
        'Start with the numbers behind {topic}: a price move only makes sense next to volume, earnings and the wider market trend.',
        "Context matters. A single day's move can reverse quickly, so compare it with the last few weeks, not the last few hours.",
        'Watch interest rates and central banks, because they shape how investors value almost every asset.',
        'Diversification is the quiet hero here: spreading money across assets limits the damage when one position swings.',
        'Check the costs too. Fees, taxes and currency effects can take a surprising share of any gain.',
        'Look at who is buying and selling. Large institutional flows often explain moves that headlines leave out.',
        'Finally, decide your time horizon before reacting to {topic}: a long-term plan rarely needs a same-day decision.',
      ],
    },
    senior_health: {
      subject: 'health tips',
      reference: 'this topic',
      tags: ['health', 'seniorhealth', 'wellness'],
      disclaimer: 'This is general information. Please consult a doctor before changing your treatment or routine.',
      angles: [
        'Start with the basics of {topic}: small daily habits like regular walks, balanced meals and good sleep make a real difference after sixty.',
        "Everyone's body is different, so the same advice about {topic} can work well for one person and not for another.",
        'Pay attention to early signs. Changes in energy, appetite or sleep are worth writing down and sharing at your next check-up.',
        'If you take regular medication, ask your pharmacist before changing anything in your routine.',
        'Staying socially active matters too: conversation, hobbies and light exercise with friends support both body and mind.',
        'Drink enough water through the day, because thirst signals weaken with age and dehydration can look like fatigue.',
        'Keep expectations realistic: when it comes to {topic}, steady routines work better than quick fixes.',
      ],
    },
    tech: {
      subject: 'tech news',
      reference: 'this technology',
      tags: ['tech', 'technology', 'gadgets'],
      angles: [
        'Here is the core idea behind {topic}, without the jargon: what it does, who it is for, and what problem it actually solves.',
        'The details matter. Performance, price and compatibility decide whether {topic} fits your setup or just looks good in a demo.',
        'Think about privacy and security as well: check what data {topic} collects and whether you can switch that off.',
        'Early versions often have rough edges, so reviews from real users after a few weeks tell you more than launch-day buzz.',
        'Compare it with the alternatives. Sometimes the tool you already have does most of what {topic} offers.',
        'Keep an eye on updates, because software changes fast and today’s limits may disappear next month.',
        'Finally, ask whether {topic} saves you time or money every week. If it does not, it can wait.',
      ],
    },
    history: {
      subject: 'history stories',
      reference: 'these events',
      tags: ['history', 'historyfacts', 'storytime'],
      angles: [
        'To understand {topic}, start with the setting: who held power, what people feared, and what daily life looked like.',
        'Sources matter. Much of what we know about {topic} comes from records written by the winners, so historians read them carefully.',
        'Small decisions often changed everything. A delayed message or a bad harvest could shift the course of events.',
        'Ordinary people lived through these events too, and their letters and diaries give {topic} a human face.',
        'Historians still debate parts of {topic}, and new archaeological finds keep adding pieces to the picture.',
        'The echoes are still with us: borders, languages and traditions we know today were shaped by events like these.',
        'Looking back at {topic} shows how quickly the world can change, and how much depends on the choices people make.',
      ],
    },
    commerce: {
      subject: 'shopping tips',
      reference: 'this product',
      tags: ['shopping', 'deals', 'review'],
      disclaimer: "Prices and availability may change, so check the seller's page before you buy.",
      angles: [
        'Before buying {topic}, compare the real price, with shipping, options and return costs included.',
        'Read reviews from verified buyers, and look at the critical ones first: they tell you what can go wrong.',
        'Check the return policy and warranty, because a good deal is only good if you can undo a bad purchase.',
        'Timing matters. Prices often drop around seasonal sales, so a short wait can save real money.',
        'Think about how often you will actually use it; cost per use is a better guide than the sticker price.',
        'Watch out for bundles with extras you do not need, since they can make {topic} look cheaper than it is.',
        'Finally, set a budget before you browse, and stick to it even when a countdown timer says otherwise.',
      ],
    },
  },
  finance: {
    headline: "today's moves in {symbols}",
    fact: '{symbol} closed at {close}, {direction}.',
    up: 'up {pct} percent',
    down: 'down {pct} percent',
    flat: 'roughly unchanged',
    summary: 'Overall, {up} of {count} symbols rose and {down} fell.',
  },
  sourceLabel: 'Source',
};

const ko: LanguageText = {
  tones: {
    professional: {
      hooks: ['{topic}, 꼭 알아야 할 핵심만 정리해 드립니다.', '오늘은 {topic}에 대해 짚어 보겠습니다.', '{topic}, 1분 안에 핵심을 알려 드립니다.'],
      leads: { first: ['먼저, ', '첫째, '], middle: ['다음으로, ', '또한, ', '이어서, '], last: ['마지막으로, ', '끝으로, '] },
      ctas: ['매일 정리되는 {subject}, 구독하고 받아 보세요.', '도움이 되셨다면 구독과 좋아요 부탁드립니다. {subject}, 매일 전해 드리겠습니다.'],
      titles: ['{topic} 핵심 정리', '{topic}, 꼭 알아야 할 것'],
    },
    casual: {
      hooks: ['{topic}, 쉽게 한번 알아볼까요?', '혹시 {topic} 궁금하셨나요? 같이 알아봐요.', '오늘은 가볍게 {topic} 이야기 해 볼게요.'],
      leads: { first: ['일단 ', '우선 '], middle: ['그리고 ', '또 하나, ', '재밌는 건, '], last: ['마지막으로 ', '끝으로 '] },
      ctas: ['도움이 됐다면 좋아요 꾹! 다음 {subject}도 기대해 주세요.', '여러분 생각은 어떠세요? 댓글로 알려 주시고 구독도 부탁해요!'],
      titles: ['{topic}, 쉽게 알아보기', '{topic} 이야기'],
    },
    urgent: {
      hooks: ['잠깐만요! {topic}, 지금 꼭 확인하셔야 합니다.', '지금 바로 알아야 할 소식, {topic}.', '오늘 놓치면 안 되는 이야기, {topic}.'],
      leads: { first: ['가장 중요한 것부터. ', '핵심부터 말씀드리면, '], middle: ['여기서 주목할 점. ', '그리고 놓치면 안 되는 것. ', '이것도 꼭 알아 두세요. '], last: ['마지막 핵심. ', '꼭 기억하세요. '] },
      ctas: ['지금 구독하고 알림 설정하세요. 다음 {subject}, 가장 먼저 알려 드립니다.', '다음 소식도 바로 받으려면 지금 구독하세요.'],
      titles: ['지금 확인하세요: {topic}', '{topic}, 오늘 꼭 알아야 할 것'],
    },
    mysterious: {
      hooks: ['{topic}, 아무도 말하지 않는 이야기가 있습니다.', '{topic}에는 숨겨진 비밀이 하나 있습니다.', '{topic}, 정말 우리가 아는 게 전부일까요?'],
      leads: { first: ['첫 번째 단서. ', '이야기는 여기서 시작됩니다. '], middle: ['그런데 이상한 점이 있습니다. ', '여기서 반전이 있습니다. ', '그런데 뭔가 맞지 않습니다. '], last: ['그리고 마지막 퍼즐 조각. ', '마지막 단서는 이것입니다. '] },
      ctas: ['다음 이야기가 궁금하다면 구독해 두세요.', '이야기는 아직 끝나지 않았습니다. 다음 {subject}에서 계속됩니다.'],
      titles: ['{topic}에 숨겨진 이야기', '{topic}, 아무도 몰랐던 사실'],
    },
  },
  verticals: {
    finance: {
      subject: '시장 소식',
      reference: '이번 흐름',
      tags: ['경제', '주식', '재테크'],
      disclaimer: '이 영상은 일반 정보이며 투자 권유가 아닙니다. 투자 판단은 본인의 책임입니다.',
      angles: [
        '먼저 {topic}의 숫자를 보세요. 가격 변화는 거래량, 실적, 시장 전체 흐름과 함께 볼 때 의미가 있습니다.',
        '하루의 움직임만 보고 판단하기는 이릅니다. 최근 몇 주의 흐름과 비교해 보는 것이 좋습니다.',
        '금리와 중앙은행의 움직임도 중요합니다. 투자자들이 자산의 가치를 평가하는 기준이 달라지기 때문입니다.',
        '분산 투자는 조용한 안전장치입니다. 한 종목이 크게 흔들려도 전체 손실을 줄여 줍니다.',
        '수수료와 세금, 환율도 꼭 확인하세요. 생각보다 많은 부분을 가져갈 수 있습니다.',
        '누가 사고 누가 파는지도 살펴보세요. 기관과 외국인의 자금 흐름이 뉴스에 없는 이유를 알려 줍니다.',
        '무엇보다 투자 기간을 먼저 정하세요. 장기 계획이라면 오늘 당장 결정할 필요는 없습니다.',
      ],
    },
    senior_health: {
      subject: '건강 정보',
      reference: '이런 건강 관리',
      tags: ['건강', '시니어', '건강정보'],
      disclaimer: '이 내용은 일반 정보입니다. 치료나 생활 습관을 바꾸기 전에 반드시 의사와 상담하세요.',
      angles: [
        '{topic}의 기본은 생활 습관입니다. 규칙적인 걷기, 균형 잡힌 식사, 충분한 잠이 큰 차이를 만듭니다.',
        '사람마다 몸 상태가 다르기 때문에 같은 방법도 누구에게는 맞고 누구에게는 맞지 않을 수 있습니다.',
        '작은 변화를 놓치지 마세요. 기운, 식욕, 수면의 변화는 적어 두었다가 진료 때 말씀하시면 좋습니다.',
        '드시는 약이 있다면 무엇이든 바꾸기 전에 약사나 의사와 먼저 상담하세요.',
        '사람들과 어울리는 것도 건강입니다. 대화와 취미, 가벼운 운동은 몸과 마음을 함께 지켜 줍니다.',
        '물을 자주 드세요. 나이가 들수록 갈증을 덜 느끼고, 탈수는 피로처럼 보이기도 합니다.',
        '{topic}, 빠른 변화보다 꾸준한 습관이 더 오래갑니다.',
      ],
    },
    tech: {
      subject: 'IT 소식',
      reference: '이 기술',
      tags: ['IT', '기술', '테크'],
      angles: [
        '{topic}의 핵심을 쉽게 말하면, 무엇을 하고 누구를 위한 것이며 어떤 문제를 푸는지입니다.',
        '성능, 가격, 호환성을 꼭 따져 보세요. 데모에서 멋져 보이는 것과 내 환경에 맞는 것은 다릅니다.',
        '개인정보와 보안도 확인하세요. 어떤 데이터를 모으는지, 끌 수 있는지 살펴보는 것이 좋습니다.',
        '초기 버전에는 아쉬운 점이 있기 마련이라, 출시 몇 주 뒤 실제 사용자 후기가 더 정확합니다.',
        '다른 선택지와도 비교해 보세요. 이미 쓰고 있는 도구가 대부분의 기능을 해낼 때도 많습니다.',
        '업데이트 소식도 챙기세요. 소프트웨어는 빠르게 바뀌어서 지금의 한계가 다음 달이면 사라지기도 합니다.',
        '마지막 기준은 간단합니다. {topic}, 매주 시간이나 돈을 아껴 주는지 따져 보세요.',
      ],
    },
    history: {
      subject: '역사 이야기',
      reference: '이 사건',
      tags: ['역사', '역사이야기', '세계사'],
      angles: [
        '{topic}의 시대 배경부터 보겠습니다. 누가 권력을 쥐었고, 사람들은 무엇을 두려워했을까요?',
        '기록은 주로 승자가 남겼습니다. 그래서 역사가들은 {topic} 관련 사료를 조심스럽게 읽습니다.',
        '작은 결정이 모든 것을 바꾸기도 했습니다. 늦게 도착한 전갈 하나, 흉년 한 번이 역사의 방향을 틀었습니다.',
        '그 시대를 살아간 평범한 사람들의 편지와 일기는 {topic}에 사람의 얼굴을 입혀 줍니다.',
        '{topic}의 일부는 지금도 학자들 사이에서 논쟁 중이고, 새로운 발굴이 계속 퍼즐을 채우고 있습니다.',
        '그 흔적은 오늘날에도 남아 있습니다. 우리가 아는 국경과 언어, 전통의 일부가 이때 만들어졌습니다.',
        '{topic}의 이야기는 세상이 얼마나 빨리 바뀔 수 있는지, 사람의 선택이 얼마나 중요한지 보여 줍니다.',
      ],
    },
    commerce: {
      subject: '쇼핑 정보',
      reference: '이 상품',
      tags: ['쇼핑', '리뷰', '꿀템'],
      disclaimer: '가격과 재고는 바뀔 수 있으니 구매 전 판매처에서 확인하세요.',
      angles: [
        '{topic}, 사기 전에 배송비와 옵션, 반품 비용까지 포함한 실제 가격을 비교하세요.',
        '구매 인증 후기를 읽되, 낮은 평점부터 보세요. 무엇이 잘못될 수 있는지 알려 줍니다.',
        '반품 정책과 보증 기간도 확인하세요. 잘못 산 물건을 되돌릴 수 있어야 좋은 거래입니다.',
        '시기도 중요합니다. 시즌 할인 때 가격이 내려가는 경우가 많아 조금 기다리면 아낄 수 있습니다.',
        '얼마나 자주 쓸지 생각해 보세요. 정가보다 한 번 쓸 때의 비용이 더 좋은 기준입니다.',
        '필요 없는 구성품이 잔뜩 들어간 묶음 상품은 싸 보여도 실제로는 비쌀 수 있습니다.',
        '쇼핑 전에 예산을 정하고, 카운트다운 타이머가 재촉해도 지키세요.',
      ],
    },
  },
  finance: {
    headline: '오늘의 시장: {symbols}',
    fact: '{symbol} 종가는 {close}, {direction}.',
    up: '전일 대비 {pct}퍼센트 올랐습니다',
    down: '전일 대비 {pct}퍼센트 내렸습니다',
    flat: '전일과 거의 같습니다',
    summary: '전체 {count}개 종목 중 {up}개가 오르고 {down}개가 내렸습니다.',
  },
  sourceLabel: '출처',
};

/** The local writer's wording; a language without it is refused by name. */
export const PHRASES: Readonly<Partial<Record<Language, LanguageText>>> = { en, ko };

export function fill(template: string, values: Readonly<Record<string, string | number>>): string {
  return template.replace(/\{(\w+)\}/g, (whole, key: string) => (key in values ? String(values[key]) : whole));
}
