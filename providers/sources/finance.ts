import type { ApiSourceConfig } from '../../db/models/json';
import { PermanentProviderError } from '../errors';
import type { CallOptions } from '../types';
import { FetchSession } from './http';
import { compactJson, maxItemsOf, newestFirst, plainLine, sinceOf } from './items';
import { resolveSourceSettings, type ResolvedSourceSettings, type SourceFetcher, type SourceFetchRequest, type SourceFetchResult, type SourceItem, type SourceSettings } from './types';

/**
 * Finance API sources (`{api_type: 'yahoo_finance', symbols, data_type: 'daily_summary'}`): one
 * item per symbol and finished trading day, from Yahoo Finance's chart endpoint
 * (`/v8/finance/chart/{symbol}?range=5d&interval=1d`): open, high, low, close, change against the
 * previous close, volume. A day still trading is left for a later run; without `since` only the
 * last finished day of each symbol is new.
 */

const FINANCE_API_TYPES = ['yahoo_finance'] as const;
const FINANCE_DATA_TYPES = ['daily_summary'] as const;

const DAY_SEC = 86_400;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function finite(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function round(value: number, digits: number): number {
  const scale = 10 ** digits;
  return Math.round(value * scale) / scale;
}

/** One finished (or still running) trading day of a symbol. */
interface TradingDay {
  symbol: string;
  /** YYYY-MM-DD in the exchange's time zone. */
  date: string;
  /** When the day's regular session closes. */
  closesAt: Date;
  open: number;
  high?: number;
  low?: number;
  close: number;
  previousClose?: number;
  volume?: number;
}

interface ChartMeta {
  symbol: string;
  name?: string;
  currency?: string;
  exchange?: string;
}

/** Reads a chart answer into its meta and days; throws a plain `Error` on a shape it cannot read. */
function readChart(body: Record<string, unknown>, symbol: string): { meta: ChartMeta; days: TradingDay[] } {
  const chart = body.chart;
  if (!isRecord(chart) || !Array.isArray(chart.result) || !isRecord(chart.result[0])) throw new Error('the chart answer has no chart.result');
  const result = chart.result[0];
  const meta = isRecord(result.meta) ? result.meta : {};
  const quote = isRecord(result.indicators) && Array.isArray(result.indicators.quote) && isRecord(result.indicators.quote[0]) ? result.indicators.quote[0] : undefined;
  const timestamps = Array.isArray(result.timestamp) ? result.timestamp : [];
  if (timestamps.length > 0 && !quote) throw new Error('the chart answer has timestamps but no indicators.quote');
  const gmtoffset = finite(meta.gmtoffset) ?? 0;
  const regular = isRecord(meta.currentTradingPeriod) && isRecord(meta.currentTradingPeriod.regular) ? meta.currentTradingPeriod.regular : {};
  const regularEnd = finite(regular.end);
  // The session's closing time of day, in seconds after local midnight; the end of the day when unknown.
  const closeOfDay = regularEnd === undefined ? DAY_SEC : (((regularEnd + gmtoffset) % DAY_SEC) + DAY_SEC) % DAY_SEC;
  const series = (name: string): unknown[] => (quote && Array.isArray(quote[name]) ? (quote[name] as unknown[]) : []);
  const [opens, highs, lows, closes, volumes] = ['open', 'high', 'low', 'close', 'volume'].map(series) as [unknown[], unknown[], unknown[], unknown[], unknown[]];

  const days: TradingDay[] = [];
  let previousClose = finite(meta.chartPreviousClose) ?? finite(meta.previousClose);
  for (const [index, stamp] of timestamps.entries()) {
    const time = finite(stamp);
    const open = finite(opens[index]);
    const close = finite(closes[index]);
    if (time === undefined || open === undefined || close === undefined) continue;
    const localDay = Math.floor((time + gmtoffset) / DAY_SEC);
    days.push({
      symbol,
      date: new Date(localDay * DAY_SEC * 1000).toISOString().slice(0, 10),
      closesAt: new Date((localDay * DAY_SEC + closeOfDay - gmtoffset) * 1000),
      open,
      high: finite(highs[index]),
      low: finite(lows[index]),
      close,
      previousClose,
      volume: finite(volumes[index]),
    });
    previousClose = close;
  }
  const name = typeof meta.longName === 'string' ? meta.longName : typeof meta.shortName === 'string' ? meta.shortName : undefined;
  const exchange = typeof meta.fullExchangeName === 'string' ? meta.fullExchangeName : typeof meta.exchangeName === 'string' ? meta.exchangeName : undefined;
  return {
    meta: {
      symbol: typeof meta.symbol === 'string' ? meta.symbol : symbol,
      ...(name ? { name: plainLine(name, 100) } : {}),
      ...(typeof meta.currency === 'string' ? { currency: meta.currency } : {}),
      ...(exchange ? { exchange } : {}),
    },
    days,
  };
}

const numberText = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });

function dayItem(meta: ChartMeta, day: TradingDay): SourceItem {
  const change = day.previousClose !== undefined ? round(day.close - day.previousClose, 4) : undefined;
  const changePct = day.previousClose ? round(((day.close - day.previousClose) / day.previousClose) * 100, 2) : undefined;
  const currency = meta.currency ? ` ${meta.currency}` : '';
  const sign = changePct !== undefined && changePct > 0 ? '+' : '';
  const label = meta.name ? `${meta.name} (${day.symbol})` : day.symbol;
  const title = `${label} ${day.date}: ${numberText.format(day.close)}${currency}${changePct !== undefined ? ` (${sign}${changePct}%)` : ''}`;
  const summary = [
    `Open ${numberText.format(day.open)}, close ${numberText.format(day.close)}${currency}`,
    changePct !== undefined ? `change ${sign}${changePct}%` : undefined,
    day.volume !== undefined ? `volume ${numberText.format(day.volume)}` : undefined,
  ]
    .filter((part) => part !== undefined)
    .join(', ');
  const url = `https://finance.yahoo.com/quote/${encodeURIComponent(day.symbol)}`;
  return {
    key: `yahoo_finance:${day.symbol}:${day.date}`,
    title,
    url,
    publishedAt: day.closesAt.toISOString(),
    summary,
    data: compactJson({
      source: 'yahoo_finance',
      data_type: 'daily_summary',
      title,
      date: day.date,
      link: url,
      symbols: [
        compactJson({
          symbol: day.symbol,
          name: meta.name,
          currency: meta.currency,
          exchange: meta.exchange,
          open: day.open,
          high: day.high,
          low: day.low,
          close: day.close,
          previous_close: day.previousClose,
          change,
          change_pct: changePct,
          volume: day.volume,
        }),
      ],
    }),
  };
}

export class FinanceFetcher implements SourceFetcher {
  readonly sourceType = 'api' as const;
  private readonly settings: ResolvedSourceSettings;
  private readonly symbols: string[];

  constructor(config: ApiSourceConfig, settings: SourceSettings = {}) {
    if (!(FINANCE_API_TYPES as readonly string[]).includes(config.api_type)) {
      throw new PermanentProviderError(`api_type "${String(config.api_type)}" is not supported (supported: ${FINANCE_API_TYPES.join(', ')})`);
    }
    if (!(FINANCE_DATA_TYPES as readonly string[]).includes(config.data_type)) {
      throw new PermanentProviderError(`data_type "${String(config.data_type)}" is not supported by ${config.api_type} (supported: ${FINANCE_DATA_TYPES.join(', ')})`);
    }
    const symbols = Array.isArray(config.symbols) ? config.symbols.filter((symbol): symbol is string => typeof symbol === 'string' && symbol.trim() !== '') : [];
    this.symbols = [...new Set(symbols.map((symbol) => symbol.trim().toUpperCase()))];
    if (this.symbols.length === 0) throw new PermanentProviderError(`a ${config.api_type} source needs at least one symbol`);
    this.settings = resolveSourceSettings(settings);
  }

  async fetch(request: SourceFetchRequest = {}, options: CallOptions = {}): Promise<SourceFetchResult> {
    options.signal?.throwIfAborted();
    const since = sinceOf(request);
    const now = (request.now ?? new Date()).getTime();
    const session = new FetchSession('yahoo_finance', 'Yahoo Finance chart', this.settings, options);
    const items: SourceItem[] = [];
    for (const [index, symbol] of this.symbols.entries()) {
      const url = `${this.settings.endpoints.yahooFinanceUrl}/v8/finance/chart/${encodeURIComponent(symbol)}?range=5d&interval=1d`;
      const { meta, days } = await session.getJson(url, (body) => {
        const error = isRecord(body.chart) && isRecord(body.chart.error) ? body.chart.error : undefined;
        if (error) throw session.refused(`${symbol}: ${String(error.description ?? error.code)}`, typeof error.code === 'string' ? error.code : undefined);
        return readChart(body, symbol);
      }, { context: symbol });
      const finished = days.filter((day) => day.closesAt.getTime() <= now);
      const fresh = since ? finished.filter((day) => day.closesAt.getTime() > since.getTime()) : finished.slice(-1);
      items.push(...fresh.map((day) => dayItem(meta, day)));
      options.onProgress?.(Math.round(((index + 1) / this.symbols.length) * 100));
    }
    const kept = newestFirst(items, maxItemsOf(request));
    return { items: kept, usage: [session.usage(kept.length)] };
  }
}
