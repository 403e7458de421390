import { QueryTypes, type Sequelize } from 'sequelize';
import { creatomateCredits } from '../providers/render/creatomate';
import { estimateCostUsd } from '../providers/script/prompt';
import type { AppConfig } from './config';

/**
 * The cost cap of one content. A deployment sets MAX_COST_PER_CONTENT_USD; a plan may set a lower
 * `max_cost_per_content_usd` feature. Before each paid step the pipeline adds the step's estimate
 * (from the configured price table) to what the content's `api_usages` rows already cost, and
 * refuses the step when the sum would pass the cap: the production fails with the reason and its
 * credit is refunded, instead of spending past what the customer pays for.
 */

/** Tokens a script request and answer take, for the estimate before the call (measured on the prompts). */
const SCRIPT_TOKENS = { input: 2500, output: 1500 };
const SAFETY_TOKENS = { input: 2000, output: 400 };

export type CostedStep = 'script' | 'safety' | 'speech' | 'images' | 'render';

export interface StepSize {
  /** Characters to speak (speech). */
  characters?: number;
  /** Scenes to picture (images). */
  scenes?: number;
  /** Seconds of video and the frame size (render). */
  durationSec?: number;
  width?: number;
  height?: number;
}

/** The estimated USD of one step with the configured engines; 0 for the local ones. */
export function estimateStepCostUsd(config: AppConfig, step: CostedStep, size: StepSize = {}): number {
  switch (step) {
    case 'script':
      return config.script.provider === 'local' ? 0 : estimateCostUsd(SCRIPT_TOKENS.input, SCRIPT_TOKENS.output, config.script[config.script.provider].prices);
    case 'safety':
      return config.safety.provider === 'gemini' ? estimateCostUsd(SAFETY_TOKENS.input, SAFETY_TOKENS.output, config.script.gemini.prices) : 0;
    case 'speech':
      return config.tts.provider === 'elevenlabs' ? ((size.characters ?? 0) * config.tts.elevenlabs.pricePerThousandCharsUsd) / 1000 : 0;
    case 'images':
      return config.images.provider === 'openai' ? (size.scenes ?? 0) * config.images.openai.pricePerImageUsd : 0;
    case 'render':
      return config.render.provider === 'creatomate'
        ? creatomateCredits(size.width ?? 1080, size.height ?? 1920, 30, size.durationSec ?? 60) * config.render.creatomate.pricePerCreditUsd
        : 0;
  }
}

export interface CostCheck {
  spentUsd: number;
  estimateUsd: number;
  capUsd: number | undefined;
  allowed: boolean;
}

/** What the content has cost so far against its cap, with the next step's estimate. */
export async function checkContentCost(sequelize: Sequelize, config: AppConfig, contentId: string, estimateUsd: number): Promise<CostCheck> {
  const [row] = await sequelize.query<{ spent: string | null; plan_cap: string | null }>(
    `SELECT (SELECT COALESCE(SUM(estimated_cost), 0) FROM api_usages WHERE content_id = :contentId) AS spent,
            (SELECT (sp.features->>'max_cost_per_content_usd')
               FROM contents c
               JOIN projects p ON p.id = c.project_id
               JOIN subscriptions s ON (s.user_id = p.user_id OR s.organization_id = p.organization_id) AND s.status = 'active'
               JOIN subscription_plans sp ON sp.id = s.plan_id
              WHERE c.id = :contentId
              ORDER BY s.created_at DESC LIMIT 1) AS plan_cap`,
    { replacements: { contentId }, type: QueryTypes.SELECT },
  );
  const spentUsd = Number(row?.spent ?? 0);
  const caps = [config.costs.maxPerContentUsd, row?.plan_cap == null ? undefined : Number(row.plan_cap)].filter(
    (cap): cap is number => cap !== undefined && Number.isFinite(cap),
  );
  const capUsd = caps.length > 0 ? Math.min(...caps) : undefined;
  return { spentUsd, estimateUsd, capUsd, allowed: capUsd === undefined || estimateUsd === 0 || spentUsd + estimateUsd <= capUsd };
}
