import assert from 'node:assert/strict';

/**
 * The Prometheus text exposition format read back into samples, so tests compare values before and
 * after something happened instead of looking for a metric's name.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** `\\`, `\"` and `\n` as the format escapes them in label values. */
function unescape(value: string): string {
  return value.replace(/\\(["\\n])/g, (_m, c: string) => (c === 'n' ? '\n' : c));
}

const SAMPLE_LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/g;

/** Every sample of an exposition; comment lines (# HELP, # TYPE) are checked to be well formed, then skipped. */
export function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#')) {
      assert.match(line, /^# (HELP|TYPE) [a-zA-Z_:][a-zA-Z0-9_:]* .+$/, `a well-formed comment line: ${line}`);
      continue;
    }
    const match = SAMPLE_LINE.exec(line);
    assert.ok(match, `a well-formed sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(LABEL)) labels[key!] = unescape(value!);
    const raw = match[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    // Prometheus reads values with Go's ParseFloat, which takes NaN in any case (prom-client writes `Nan`).
    assert.ok(!Number.isNaN(value) || /^nan$/i.test(raw), `a number in ${line}`);
    samples.push({ name: match[1]!, labels, value });
  }
  return samples;
}

/** The sum of the samples named `name` whose labels include every one of `labels` (0 when none). */
export function valueOf(samples: readonly Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

/** Reads an exposition over HTTP (with a bearer token when given); fails the test unless it answers 200. */
export async function scrape(url: string, token?: string): Promise<Sample[]> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const text = await res.text();
  assert.equal(res.status, 200, `${url}: ${text.slice(0, 200)}`);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain/);
  return parseExposition(text);
}
