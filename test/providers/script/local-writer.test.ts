import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalSafetyChecker, passesSafety } from '../../../providers/safety/local-checker';
import { FORMAT_PLANS, LocalScriptWriter } from '../../../providers/script/local-writer';
import { estimateSpeechSeconds, graphemeLength } from '../../../providers/script/text';
import { SCRIPT_LIMITS, ScriptValidationError, validateScript } from '../../../providers/script/validate';
import type { Language, ScriptRequest, ScriptResult, Tone, Vertical } from '../../../providers/types';

const writer = new LocalScriptWriter();
const VERTICALS: Vertical[] = ['senior_health', 'finance', 'tech', 'history', 'commerce'];
const TONES: Tone[] = ['professional', 'casual', 'urgent', 'mysterious'];
const LANGUAGES: Language[] = ['en', 'ko'];
const HANGUL = /[\uAC00-\uD7A3]/;

const RSS_ITEM = {
  title: 'Central bank holds rates &amp; signals <em>two cuts</em> next year',
  description:
    '<p>The central bank kept its benchmark interest rate unchanged on Wednesday, as expected by most economists.</p>' +
    '<p>Officials signalled two rate cuts next year if inflation keeps slowing. Markets rallied after the announcement.</p>' +
    '<script>document.location="https://evil.example"</script><ul><li>Click here to subscribe</li></ul>' +
    '<p>Bond yields fell to their lowest level in three months. The next rate decision is due in six weeks.</p>',
  link: 'https://news.example.com/markets/central-bank-holds?utm=rss',
  published: '2025-03-19T18:00:00Z',
};

function request(overrides: Partial<ScriptRequest> = {}): ScriptRequest {
  return { language: 'en', vertical: 'tech', tone: 'professional', format: 'short', topic: 'smart home security cameras', ...overrides };
}

/** Everything except timing, which is the only part allowed to vary between runs. */
function stable(result: ScriptResult): unknown {
  return { ...result, usage: { ...result.usage, durationMs: 0 } };
}

function assertBounded(result: ScriptResult): void {
  const { script, title, description, tags } = result;
  assert.deepEqual(validateScript(script), script, 'the script is its own valid form');
  assert.equal(script.full_text, [script.hook, ...script.body, script.cta].join('\n'));
  assert.ok(title.trim() !== '' && graphemeLength(title) <= SCRIPT_LIMITS.titleMaxChars, `title: ${title}`);
  assert.ok(graphemeLength(description) <= SCRIPT_LIMITS.descriptionMaxChars);
  assert.ok(tags.length > 0 && tags.length <= 12);
  assert.equal(new Set(tags.map((tag) => tag.toLowerCase())).size, tags.length, 'tags are unique');
  for (const tag of tags) assert.match(tag, /^[\p{L}\p{N}]{2,30}$/u);
  for (const text of [script.full_text, title, description]) {
    assert.ok(!/[<>]/.test(text), `angle brackets in: ${text.slice(0, 80)}`);
    assert.ok(!/(?![\n])\p{Cc}|[\u202A-\u202E\u2066-\u2069]/u.test(text), 'no control or bidi characters');
  }
}

describe('LocalScriptWriter', () => {
  it('is deterministic: the same input gives the same output, whatever the key order', async () => {
    const first = await writer.write(request({ sourceData: { ...RSS_ITEM } }));
    const again = await writer.write(request({ sourceData: { ...RSS_ITEM } }));
    const reordered = await writer.write(request({ sourceData: Object.fromEntries(Object.entries(RSS_ITEM).reverse()) }));
    assert.deepEqual(stable(again), stable(first));
    assert.deepEqual(stable(reordered), stable(first));
    const other = await writer.write(request({ sourceData: { ...RSS_ITEM, title: 'Another headline about rates' } }));
    assert.notDeepEqual(other.script, first.script);
  });

  it('writes Korean and English', async () => {
    const ko = await writer.write(request({ language: 'ko', topic: '스마트홈 보안 카메라' }));
    const en = await writer.write(request());
    for (const part of [ko.script.hook, ...ko.script.body, ko.script.cta]) assert.match(part, HANGUL);
    assert.ok(!HANGUL.test(en.script.full_text));
    assertBounded(ko);
    assertBounded(en);
  });

  it('differs by vertical, with the disclaimer where it belongs', async () => {
    for (const language of LANGUAGES) {
      const results = await Promise.all(VERTICALS.map((vertical) => writer.write(request({ language, vertical, topic: 'everyday habits' }))));
      assert.equal(new Set(results.map((r) => r.script.full_text)).size, VERTICALS.length);
      const byVertical = Object.fromEntries(VERTICALS.map((vertical, i) => [vertical, results[i] as ScriptResult]));
      const finance = byVertical.finance?.script.cta ?? '';
      const health = byVertical.senior_health?.script.cta ?? '';
      if (language === 'en') {
        assert.match(finance, /not investment advice/);
        assert.match(health, /consult a doctor/);
      } else {
        assert.match(finance, /투자 권유가 아닙니다/);
        assert.match(health, /의사와 상담/);
      }
      assert.ok(!/advice|투자 권유/.test(byVertical.history?.script.cta ?? ''));
      assert.ok(byVertical.finance?.tags.includes(language === 'en' ? 'finance' : '경제'));
    }
  });

  it('differs by tone: hooks, lead-ins and calls to action', async () => {
    for (const language of LANGUAGES) {
      const results = await Promise.all(TONES.map((tone) => writer.write(request({ language, tone }))));
      assert.equal(new Set(results.map((r) => r.script.hook)).size, TONES.length, `${language} hooks`);
      assert.equal(new Set(results.map((r) => r.script.cta)).size, TONES.length, `${language} ctas`);
      assert.equal(new Set(results.map((r) => r.script.body[0])).size, TONES.length, `${language} first sections`);
      assert.equal(new Set(results.map((r) => r.title)).size, TONES.length, `${language} titles`);
    }
  });

  it('sizes the script by format, and a short lands in 30–60 s of speech', async () => {
    for (const format of ['short', 'mid', 'long'] as const) {
      const result = await writer.write(request({ format, sourceData: RSS_ITEM }));
      assert.equal(result.script.body.length, FORMAT_PLANS[format].sections);
    }
    for (const language of LANGUAGES) {
      for (const vertical of VERTICALS) {
        for (const tone of TONES) {
          for (const input of [{ topic: language === 'ko' ? '겨울철 건강 관리' : 'staying healthy in winter' }, { sourceData: RSS_ITEM }]) {
            const { script } = await writer.write({ language, vertical, tone, format: 'short', ...input });
            const seconds = estimateSpeechSeconds(script.full_text, language);
            assert.ok(seconds >= 30 && seconds <= 60, `${language}/${vertical}/${tone}: ${seconds.toFixed(1)} s\n${script.full_text}`);
          }
        }
      }
    }
  });

  it('extracts the key sentences of an RSS item with HTML, in order, without markup or scripts', async () => {
    const result = await writer.write(request({ vertical: 'finance', format: 'mid', topic: undefined, sourceData: RSS_ITEM }));
    const text = result.script.full_text;
    assert.match(text, /kept its benchmark interest rate unchanged/);
    assert.match(text, /signalled two rate cuts next year/);
    assert.ok(text.indexOf('kept its benchmark') < text.indexOf('two rate cuts next year'), 'source order kept');
    assert.ok(!/document\.location|evil\.example|<|&amp;|https?:/.test(text));
    assert.equal(result.title.includes('&amp;'), false);
    assert.match(result.title, /Central bank holds rates & signals two cuts next year/);
    assert.match(result.description, /Source: https:\/\/news\.example\.com\/markets\/central-bank-holds\?utm=rss/);
    assert.match(result.exchange.prompt, /source=article/);
    assertBounded(result);
  });

  it('extracts every sentence of a short Korean article into a long script', async () => {
    const sourceData = {
      title: '경주에서 신라 시대 금귀걸이 출토',
      description: '<p>국가유산청은 경주 황남동 고분에서 신라 시대 금귀걸이 한 쌍이 출토됐다고 19일 밝혔다.</p>' +
        '<p>귀걸이는 5세기 후반에 만들어진 것으로 추정된다. 연구진은 무덤 주인이 왕족이었을 가능성이 높다고 설명했다.</p>',
      link: 'https://news.example.kr/1',
    };
    const result = await writer.write({ language: 'ko', vertical: 'history', tone: 'mysterious', format: 'long', sourceData });
    const text = result.script.full_text;
    const positions = ['국가유산청은 경주 황남동', '귀걸이는 5세기 후반', '연구진은 무덤 주인이'].map((sentence) => text.indexOf(sentence));
    assert.ok(positions.every((p) => p >= 0), 'every sentence is used');
    assert.deepEqual([...positions].sort((a, b) => a - b), positions, 'in source order');
    assert.match(result.description, /출처: https:\/\/news\.example\.kr\/1/);
    assert.ok(result.tags.includes('신라') && result.tags.includes('금귀걸이'), result.tags.join(','));
    assertBounded(result);
  });

  it('turns a finance summary into spoken facts, biggest move first', async () => {
    const sourceData = { symbols: [
      { symbol: 'AAPL', close: 189.5, changePct: 1.23 },
      { symbol: 'TSLA', close: 172.1, changePct: -4.2 },
      { symbol: 'MSFT', close: 410, changePct: 0 },
    ] };
    const en = await writer.write(request({ vertical: 'finance', topic: undefined, sourceData }));
    assert.match(en.script.body[0] ?? '', /TSLA closed at 172\.1, down 4\.2 percent/);
    assert.match(en.script.full_text, /AAPL closed at 189\.5, up 1\.23 percent/);
    assert.deepEqual(en.tags.slice(0, 3), ['TSLA', 'AAPL', 'MSFT']);
    const ko = await writer.write(request({ language: 'ko', vertical: 'finance', topic: undefined, sourceData }));
    assert.match(ko.script.full_text, /TSLA 종가는 172\.1, 전일 대비 4\.2퍼센트 내렸습니다/);
    assert.match(ko.title, /TSLA/);
    assertBounded(en);
    assertBounded(ko);
  });

  it('reads a YouTube video, a keyword news list and data of unknown shape', async () => {
    const video = await writer.write(request({ topic: undefined, sourceData: {
      videoId: 'dQw4w9WgXcQ', channelTitle: 'Tech Daily', title: 'Five laptop features that matter in 2025',
      description: 'Battery life matters more than peak speed for most people. Screens with higher refresh rates are easier on the eyes. 👀 https://example.com/promo',
    } }));
    assert.match(video.description, /youtube\.com\/watch\?v=dQw4w9WgXcQ/);
    assert.match(video.script.full_text, /Battery life matters more than peak speed/);
    assert.ok(!/👀|https?:/u.test(video.script.full_text), 'no emoji or links in spoken text');

    const news = await writer.write(request({ language: 'ko', vertical: 'senior_health', topic: undefined, sourceData: {
      keyword: '시니어 건강',
      items: [
        { title: '하루 30분 걷기, 노년기 근력 유지에 도움', snippet: '연구진은 매일 30분 걷기가 근력 감소를 늦춘다고 밝혔다. 참가자는 모두 65세 이상이었다.' },
        { title: '겨울철 낙상 주의보', snippet: '빙판길 낙상 사고는 고령층에서 특히 위험하다.' },
      ],
    } }));
    assert.match(news.script.full_text, /30분 걷기/);
    assert.ok(news.tags.includes('시니어건강'));

    const odd = await writer.write(request({ topic: undefined, sourceData: { headline_text: 'Solar panels on apartment balconies are getting cheaper every year.', n: 3, nested: { note: 'Small plug-in kits now cost less than a new phone.' } } }));
    assert.match(odd.script.full_text, /Solar panels on apartment balconies/);
    for (const result of [video, news, odd]) assertBounded(result);
  });

  it('keeps hostile input bounded and valid', async () => {
    const long = 'word '.repeat(2000);
    const inputs: Partial<ScriptRequest>[] = [
      { topic: "'; DROP TABLE contents; -- OR 1=1" },
      { topic: '<script>alert("x")</script><b>Home</b> gadgets<img src=x onerror=alert(1)>' },
      { topic: '🔥🔥🔥 crypto 🚀🚀 to the 🌕 👨‍👩‍👧‍👦' },
      { topic: 'x'.repeat(10_000) },
      { topic: long },
      { topic: '\u202Egnp.exe\u0000\u0007 hidden\u200B text' },
      { title: 'T'.repeat(500), topic: 'fine' },
      { topic: undefined, sourceData: { title: 'y'.repeat(10_000), description: `${'Sentence number one is here. '.repeat(400)}${'z'.repeat(10_000)}` } },
      { topic: undefined, sourceData: { title: '&lt;script&gt;alert(1)&lt;/script&gt; Headline', summary: '<<<>>> &#0; &#x110000; &bogus; <!-- never closed' } },
      { topic: undefined, sourceData: { symbols: [{ symbol: '<b>X</b>', close: 'NaN' }, { symbol: 'OK', close: 1e308, changePct: 1e308 }, null, 7] } },
      { topic: undefined, sourceData: { items: [{ title: 42 }, 'text', { title: 'Real item title here', snippet: 'A real snippet sentence with content.' }] } },
    ];
    for (const [index, input] of inputs.entries()) {
      for (const language of LANGUAGES) {
        const result = await writer.write(request({ language, format: index % 2 === 0 ? 'short' : 'long', ...input }));
        assertBounded(result);
        assert.ok(!/alert|onerror|document/.test(`${result.script.full_text} ${result.title} ${result.description}`), `input ${index}`);
        for (const part of [result.script.hook, ...result.script.body]) assert.ok(graphemeLength(part) <= 700, `input ${index}: ${graphemeLength(part)} graphemes`);
        assert.ok(!/\p{Extended_Pictographic}/u.test(result.script.full_text), 'no emoji in spoken text');
      }
    }
  });

  it('refuses a request with nothing to write about', async () => {
    await assert.rejects(writer.write(request({ topic: '   ' })), /needs a topic/);
    await assert.rejects(writer.write(request({ topic: undefined, sourceData: { a: 1 } })), /needs a topic/);
    await assert.rejects(writer.write(request({ topic: '<script>alert(1)</script><img src=x>' })), /needs a topic/);
  });

  it('reports usage and the exchange for ai_outputs', async () => {
    const result = await writer.write(request({ sourceData: RSS_ITEM }));
    const { usage, exchange } = result;
    assert.equal(usage.service, 'local-writer');
    assert.equal(usage.operation, 'script_generation');
    assert.equal(usage.estimatedCostUsd, 0);
    assert.equal(usage.inputUnits, 'smart home security cameras'.length + JSON.stringify(RSS_ITEM).length);
    assert.equal(usage.outputUnits, Array.from(exchange.rawOutput).length);
    assert.equal(exchange.model, 'local-template-v1');
    assert.deepEqual(JSON.parse(exchange.rawOutput), { script: result.script, title: result.title, description: result.description, tags: result.tags });
    assert.ok(exchange.prompt.length > 20 && exchange.prompt.length <= 600);
  });

  it('writes scripts that pass the local safety checker in every vertical, tone and language', async () => {
    const checker = new LocalSafetyChecker();
    for (const language of LANGUAGES) {
      for (const vertical of VERTICALS) {
        for (const tone of TONES) {
          const result = await writer.write({ language, vertical, tone, format: 'mid', topic: language === 'ko' ? '오늘의 핵심 이야기' : 'the story of the day' });
          const safety = await checker.check({ language, vertical, title: result.title, script: result.script });
          assert.ok(passesSafety(safety.score), `${language}/${vertical}/${tone}: ${JSON.stringify(safety.flags)}`);
          assert.deepEqual(safety.flags, []);
        }
      }
    }
  });
});

describe('validateScript', () => {
  const good = { hook: ' Hook ', body: ['One', 'Two'], cta: 'Follow' };

  it('returns a trimmed script with full_text rebuilt from the parts', () => {
    assert.deepEqual(validateScript({ ...good, full_text: 'something else' }), { hook: 'Hook', body: ['One', 'Two'], cta: 'Follow', full_text: 'Hook\nOne\nTwo\nFollow' });
  });

  it('names the bad field', () => {
    const cases: [unknown, string, RegExp][] = [
      [null, 'script', /must be an object/],
      [[good], 'script', /must be an object/],
      [{ ...good, hook: undefined }, 'hook', /must be a string, got undefined/],
      [{ ...good, hook: '   ' }, 'hook', /must not be empty/],
      [{ ...good, body: 'One' }, 'body', /array/],
      [{ ...good, body: [] }, 'body', /1–12 sections, got 0/],
      [{ ...good, body: ['One', ''] }, 'body[1]', /must not be empty/],
      [{ ...good, body: ['One', 7] }, 'body[1]', /got number/],
      [{ ...good, cta: 'x'.repeat(401) }, 'cta', /401 characters, more than 400/],
      [{ ...good, full_text: 3 }, 'full_text', /must be a string/],
    ];
    for (const [value, field, message] of cases) {
      assert.throws(() => validateScript(value), (error: unknown) => {
        assert.ok(error instanceof ScriptValidationError);
        assert.equal(error.field, field);
        assert.match(error.message, message);
        assert.match(error.message, new RegExp(`^Invalid script: ${field.replace(/[[\]]/g, '\\$&')} `));
        return true;
      });
    }
  });
});
