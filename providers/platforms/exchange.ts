import { ProviderError } from '../errors';
import { recordFailedCall, redactSecrets, sendRequest, type ProviderLabel } from '../http';
import type { ProviderUsage } from '../types';
import type { PlatformAccessToken, PlatformCallOptions } from './types';

/**
 * What the TikTok and Instagram clients share: the state of one call (the token it sends, the
 * refresh it made, the secrets no message may show), its requests recorded as failed calls when
 * they fail, its usage, and the reading of loosely typed JSON answers.
 */

/** The platform as `ProviderError.provider` and `ProviderUsage.service`, and as named in messages. */
export interface PlatformService {
  platform: string;
  name: string;
}

export interface PlatformCallState<Operation extends string = string> {
  operation: Operation;
  accessToken?: string;
  refreshed?: PlatformAccessToken;
  refreshedAfterReject: boolean;
  /** The HTTP status of the last request. */
  statusCode?: number;
  /** Requests sent. */
  calls: number;
  secrets: string[];
  options: PlatformCallOptions;
}

/** The counters `fetchStatistics` read, the usage of reading them, and the token when the call refreshed it. */
export interface StatisticsResult<Statistics> {
  items: Statistics[];
  usage: ProviderUsage;
  refreshedToken?: PlatformAccessToken;
}

/** `refreshedToken` for a result, when the call refreshed the token. */
export function refreshedTokenOf(state: PlatformCallState): { refreshedToken?: PlatformAccessToken } {
  return state.refreshed ? { refreshedToken: state.refreshed } : {};
}

/** The label of the call's requests, e.g. "TikTok upload". */
export function callLabel(service: PlatformService, state: PlatformCallState): ProviderLabel {
  return { provider: service.platform, operation: `${service.name} ${state.operation}` };
}

/** The value as an object (a JSON object of an answer), else an empty one. */
export function record(value: unknown): Record<string, unknown> {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

export function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A counter from a number or a numeric string; 0 for anything else. */
export function toCount(value: unknown): number {
  const number = Number(value);
  return Number.isFinite(number) && number >= 0 ? number : 0;
}

/** The JSON value of an answer's text: `whenEmpty` for no text, undefined for text that is no JSON. */
export function parseAnswer(text: string, whenEmpty: unknown): unknown {
  if (text === '') return whenEmpty;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * One request of a call and its answer's text (at most 1 MB), read by `read`. The request is
 * counted and its status kept in the state; any failure (network, a body that breaks off, what
 * `read` throws) is recorded as a failed call and thrown as a `ProviderError`.
 */
export async function platformExchange<T>(
  service: PlatformService,
  state: PlatformCallState,
  url: string,
  init: RequestInit,
  timeoutMs: number,
  read: (response: Response, text: string) => T,
): Promise<T> {
  const startedAt = performance.now();
  const label = callLabel(service, state);
  state.calls += 1;
  state.statusCode = undefined;
  try {
    const response = await sendRequest(label, url, init, timeoutMs, state.secrets, state.options.signal);
    state.statusCode = response.status;
    const text = (await response.text()).slice(0, 1_000_000);
    return read(response, text);
  } catch (error) {
    if (state.options.signal?.aborted) throw error;
    // A body cut off by the deadline or the network surfaces as a plain error.
    const reported =
      error instanceof ProviderError
        ? error
        : new ProviderError(service.platform, 'network_error', redactSecrets(`${label.operation}: the answer broke off (${(error as Error).message})`, state.secrets));
    throw await recordFailedCall(state.options, { service: service.platform, operation: state.operation, startedAt, statusCode: state.statusCode }, reported);
  }
}

/** Takes a refreshed token for the rest of the call: sent from now on, kept out of every message, handed to `onTokenRefreshed`. */
export async function adoptToken(state: PlatformCallState, token: PlatformAccessToken): Promise<void> {
  state.accessToken = token.accessToken;
  state.refreshed = token;
  state.secrets.push(token.accessToken, ...(token.refreshToken ? [token.refreshToken] : []));
  await state.options.onTokenRefreshed?.(token);
}

/** The usage of a successful operation (its cost: the requests sent at `usdPerCall`), also handed to `onUsage`. */
export function platformUsage(
  service: PlatformService,
  state: PlatformCallState,
  units: { startedAt: number; inputUnits: number; outputUnits: number; usdPerCall: number },
): ProviderUsage {
  const usage: ProviderUsage = {
    service: service.platform,
    operation: state.operation,
    inputUnits: units.inputUnits,
    outputUnits: units.outputUnits,
    durationMs: Math.round(performance.now() - units.startedAt),
    estimatedCostUsd: state.calls * units.usdPerCall,
    ...(state.statusCode !== undefined ? { statusCode: state.statusCode } : {}),
  };
  state.options.onUsage?.(usage);
  return usage;
}
