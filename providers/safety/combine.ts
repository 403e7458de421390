import type { SafetyFlag, SafetyRequest, SafetyResult } from '../types';
import { SAFETY_PENALTIES } from './rules';

/**
 * How a remote safety service's findings are folded into the local rules' result, the same way for
 * every service. The remote findings are flags of the same kind as the local ones (code, severity,
 * message), and they cost the same penalty per severity as a local flag (./rules.ts
 * SAFETY_PENALTIES): the combined score is the local score minus the penalties of the remote
 * flags, clamped to [0, 1] with two decimals. So a clean remote answer keeps the local score, a
 * single high-severity remote flag fails the default threshold, and the flags of both are kept,
 * local first. A service that refused the content outright (a blocked prompt, a withheld answer)
 * sets the score to 0: the content is rejected by the pipeline's threshold, not failed.
 */

export interface RemoteSafetyFindings {
  flags: SafetyFlag[];
  /** The service refused to handle the content at all. */
  rejected: boolean;
}

/** Where a continuous risk (0–1) becomes a flag, and of which severity. */
export interface RiskThresholds {
  low: number;
  medium: number;
  high: number;
}

/** The severity of a risk, or undefined below the lowest threshold. */
export function severityForRisk(risk: number, thresholds: RiskThresholds): SafetyFlag['severity'] | undefined {
  if (risk >= thresholds.high) return 'high';
  if (risk >= thresholds.medium) return 'medium';
  if (risk >= thresholds.low) return 'low';
  return undefined;
}

export function combineSafety(
  local: Pick<SafetyResult, 'score' | 'flags'>,
  remote: RemoteSafetyFindings,
  penalties: Readonly<Record<SafetyFlag['severity'], number>> = SAFETY_PENALTIES,
): { score: number; flags: SafetyFlag[] } {
  const flags = [...local.flags, ...remote.flags];
  if (remote.rejected) return { score: 0, flags };
  const penalty = remote.flags.reduce((sum, flag) => sum + penalties[flag.severity], 0);
  return { score: Math.round(Math.min(1, Math.max(0, local.score - penalty)) * 100) / 100, flags };
}

/** The text a remote service is given: the title, then the script as it is spoken. */
export function safetyText(request: SafetyRequest): string {
  const { script } = request;
  const spoken = script.full_text.trim() !== '' ? script.full_text : [script.hook, ...script.body, script.cta].join('\n');
  return `${request.title}\n\n${spoken}`;
}
