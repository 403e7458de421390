import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_SAFETY_THRESHOLD,
  LocalSafetyChecker,
  SAFETY_RULES,
  passesSafety,
  scoreFromFlags,
} from '../../../providers/safety/local-checker';
import type { Language, SafetyResult, Vertical } from '../../../providers/types';

const checker = new LocalSafetyChecker();

function check(text: string, vertical: Vertical, language: Language = 'en', title = 'A title'): Promise<SafetyResult> {
  return checker.check({ language, vertical, title, script: { hook: 'Hello.', body: [text], cta: 'Follow.', full_text: '' } });
}

async function codes(text: string, vertical: Vertical, language: Language = 'en'): Promise<string[]> {
  return (await check(text, vertical, language)).flags.map((flag) => flag.code);
}

describe('LocalSafetyChecker', () => {
  it('passes clean text with a perfect score', async () => {
    const result = await check('Walking every day helps you keep your balance. Drink water and sleep well.', 'senior_health');
    assert.equal(result.score, 1);
    assert.deepEqual(result.flags, []);
    assert.ok(passesSafety(result.score));
  });

  it('flags medical claims in senior_health, in English and Korean', async () => {
    const cases: [string, Language, string][] = [
      ['This herbal tea cures arthritis in a week.', 'en', 'health_cure_claim'],
      ['A miracle cure for joint pain.', 'en', 'health_cure_claim'],
      ['이 약초 하나로 당뇨 완치!', 'ko', 'health_cure_claim'],
      ['만병통치 건강즙을 소개합니다.', 'ko', 'health_cure_claim'],
      ['100% 효과를 보장합니다.', 'ko', 'health_certainty_claim'],
      ['１００％ 효과', 'ko', 'health_certainty_claim'],
      ['It is 100% effective with no side effects.', 'en', 'health_certainty_claim'],
      ['혈압약을 끊으세요. 이 차면 충분합니다.', 'ko', 'health_stop_medication'],
      ['You can stop taking your medication once you drink this.', 'en', 'health_stop_medication'],
      ['With this routine there is no need for a doctor.', 'en', 'health_avoid_doctor'],
      ['병원에 갈 필요가 없습니다.', 'ko', 'health_avoid_doctor'],
    ];
    for (const [text, language, code] of cases) {
      const result = await check(text, 'senior_health', language);
      assert.ok(result.flags.some((flag) => flag.code === code), `${text} → ${JSON.stringify(result.flags)}`);
      assert.ok(!passesSafety(result.score), `${text} scored ${result.score}`);
      const flag = result.flags.find((f) => f.code === code);
      assert.equal(flag?.severity, 'high');
      const checked = ['A title', 'Hello.', text, 'Follow.'].join(' ').normalize('NFKC');
      assert.ok(flag?.excerpt && checked.includes(flag.excerpt), `the excerpt quotes the text: ${flag?.excerpt}`);
    }
  });

  it('does not punish careful wording', async () => {
    const careful: [string, Vertical, Language][] = [
      ['There is no cure yet, but treatment helps.', 'senior_health', 'en'],
      ['치매는 아직 완치가 어렵습니다.', 'senior_health', 'ko'],
      ['약을 끊기 전에 반드시 의사와 상담하세요.', 'senior_health', 'ko'],
      ["Don't stop taking your medication without asking your doctor.", 'senior_health', 'en'],
      ['This is not investment advice. Returns are not guaranteed and there is no risk-free investment.', 'finance', 'en'],
      ['이 상품은 원금이 보장되지 않으며 수익을 보장하지 않습니다.', 'finance', 'ko'],
      ['The museum shows how the war began and who was responsible.', 'history', 'en'],
    ];
    for (const [text, vertical, language] of careful) {
      assert.deepEqual(await codes(text, vertical, language), [], text);
    }
  });

  it('flags promised returns in finance, and only where the rule applies', async () => {
    const cases: [string, Language, string][] = [
      ['Guaranteed returns of 20% a month!', 'en', 'finance_guaranteed_return'],
      ['This fund is risk-free.', 'en', 'finance_risk_free'],
      ['수익 보장! 지금 가입하세요.', 'ko', 'finance_guaranteed_return'],
      ['원금 보장 상품입니다.', 'ko', 'finance_guaranteed_return'],
      ['이 종목은 무조건 오른다.', 'ko', 'finance_guaranteed_return'],
      ['무위험으로 연 30%를 버는 방법', 'ko', 'finance_risk_free'],
      ['Insider tip: buy now before the news breaks.', 'en', 'finance_hype'],
    ];
    for (const [text, language, code] of cases) {
      assert.ok((await codes(text, 'finance', language)).includes(code), text);
    }
    assert.deepEqual(await codes('Guaranteed returns of 20% a month!', 'history'), [], 'finance rules stay in finance');
    assert.deepEqual(await codes('This herbal tea cures arthritis.', 'finance'), [], 'health rules stay in senior_health');
  });

  it('flags hate, violence, adult terms and personal data in every vertical, masking the personal data', async () => {
    for (const vertical of ['tech', 'history', 'commerce'] as Vertical[]) {
      assert.ok((await codes('요즘 틀딱들은 왜 그럴까', vertical, 'ko')).includes('hate_speech'));
      assert.ok((await codes('Just kill yourself.', vertical)).includes('self_harm_or_threat'));
      assert.ok((await codes('Here is how to make a bomb at home.', vertical)).includes('weapon_instructions'));
      assert.ok((await codes('야동 사이트 링크', vertical, 'ko')).includes('adult_content'));
    }
    const phone = await check('문의는 010-1234-5678 또는 help@example.com 으로 주세요.', 'commerce', 'ko');
    const contact = phone.flags.find((flag) => flag.code === 'personal_contact');
    assert.equal(contact?.severity, 'medium');
    assert.match(contact?.message ?? '', /2 matches/);
    assert.ok(contact?.excerpt && !/\d/.test(contact.excerpt) && !contact.excerpt.includes('help@'), contact?.excerpt);
    const rrn = await check('제 주민번호는 900101-1234567 입니다.', 'tech', 'ko');
    const id = rrn.flags.find((flag) => flag.code === 'personal_id_number');
    assert.equal(id?.severity, 'high');
    assert.ok(id?.excerpt && !/\d/.test(id.excerpt));
    assert.ok(!passesSafety(rrn.score));
    assert.ok((await codes('Call me at (555) 123-4567.', 'tech')).includes('personal_contact'));
  });

  it('flags clickbait only in excess', async () => {
    assert.deepEqual(await codes('A shocking result!!', 'tech'), []);
    const result = await check('SHOCKING!! You won\'t believe this insane deal!!! 충격 실화냐', 'commerce', 'ko');
    const flag = result.flags.find((f) => f.code === 'clickbait_excess');
    assert.equal(flag?.severity, 'medium');
    assert.equal(result.score, 0.8);
  });

  it('looks at the title as well as the script', async () => {
    const result = await checker.check({ language: 'en', vertical: 'finance', title: 'Risk-free profits, guaranteed returns', script: { hook: 'Hi.', body: ['Markets moved.'], cta: 'Follow.', full_text: '' } });
    assert.deepEqual(result.flags.map((f) => f.code).sort(), ['finance_guaranteed_return', 'finance_risk_free']);
    assert.equal(result.score, 0);
  });

  it('keeps the score within [0, 1] with two decimals', async () => {
    const worst = await check('Guaranteed returns, risk-free, insider tip, kill yourself, porn, 900101-1234567, 010-1234-5678, subhuman!!! shocking!!! 충격', 'finance', 'ko');
    assert.equal(worst.score, 0);
    assert.ok(worst.flags.length >= 6);
    for (const severities of [[], ['low'], ['low', 'low', 'low'], ['medium', 'low'], ['high'], ['high', 'medium'], ['high', 'high', 'high']] as const) {
      const score = scoreFromFlags(severities.map((severity) => ({ code: 'x', severity, message: 'x' })));
      assert.ok(score >= 0 && score <= 1);
      assert.equal(Math.round(score * 100) / 100, score);
      assert.equal(score.toFixed(2).length <= 4, true, 'fits DECIMAL(3,2)');
    }
    assert.equal(scoreFromFlags([{ code: 'x', severity: 'medium', message: 'x' }, { code: 'y', severity: 'low', message: 'y' }]), 0.75);
    assert.equal(DEFAULT_SAFETY_THRESHOLD, 0.7);
  });

  it('keeps its rules as data, and takes other rules', async () => {
    const rulesCodes = SAFETY_RULES.map((rule) => rule.code);
    assert.equal(new Set(rulesCodes).size, rulesCodes.length, 'codes are unique');
    for (const rule of SAFETY_RULES) for (const pattern of rule.patterns) assert.ok(pattern.global, `${rule.code} ${pattern.source}`);
    const custom = new LocalSafetyChecker({ rules: [{ code: 'brand_name', severity: 'low', message: 'Competitor brand', patterns: [/\bacme\b/giu] }] });
    const result = await custom.check({ language: 'en', vertical: 'commerce', title: 'ACME deals', script: { hook: 'a', body: ['b'], cta: 'c', full_text: '' } });
    assert.deepEqual(result.flags, [{ code: 'brand_name', severity: 'low', message: 'Competitor brand', excerpt: 'ACME deals a b c' }]);
    assert.equal(result.score, 0.95);
    assert.throws(() => new LocalSafetyChecker({ rules: [{ code: 'bad', severity: 'low', message: 'm', patterns: [/x/] }] }), /needs the g flag/);
  });

  it('reports usage and the exchange', async () => {
    const result = await check('Guaranteed returns', 'finance');
    assert.equal(result.usage.service, 'local-safety');
    assert.equal(result.usage.operation, 'safety_check');
    assert.equal(result.usage.estimatedCostUsd, 0);
    assert.equal(result.usage.outputUnits, 1);
    assert.deepEqual(JSON.parse(result.exchange.rawOutput), { score: result.score, flags: result.flags });
    assert.equal(result.exchange.model, 'local-rules-v1');
  });
});
