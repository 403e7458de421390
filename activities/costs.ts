import { ApplicationFailure } from '@temporalio/common';
import { providerOrders, type AppConfig, type ProviderOrders, type ProviderStep } from '../lib/config';
import { creatomateCredits } from '../providers/render/creatomate';
import { estimateCostUsd } from '../providers/llm/exchange';
import type { CostedStep } from '../workflows/steps';
import type { AppContext } from '../control/app-context';

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

/** The estimated USD of one engine of a step; 0 for the local ones. */
function engineCostUsd(config: AppConfig, step: CostedStep, engine: string, size: StepSize): number {
  switch (step) {
    case 'script':
      return engine === 'gemini' || engine === 'openai' ? estimateCostUsd(SCRIPT_TOKENS.input, SCRIPT_TOKENS.output, config.script[engine].prices) : 0;
    case 'safety':
      return engine === 'gemini' ? estimateCostUsd(SAFETY_TOKENS.input, SAFETY_TOKENS.output, config.script.gemini.prices) : 0;
    case 'speech':
      return engine === 'elevenlabs' ? ((size.characters ?? 0) * config.tts.elevenlabs.pricePerThousandCharsUsd) / 1000 : 0;
    case 'images':
      return engine === 'openai' ? (size.scenes ?? 0) * config.images.openai.pricePerImageUsd : 0;
    case 'render':
      return engine === 'creatomate' ? creatomateCredits(size.width ?? 1080, size.height ?? 1920, 30, size.durationSec ?? 60) * config.render.creatomate.pricePerCreditUsd : 0;
  }
}

/** The provider step each costed step's engines are ordered under. */
const ORDER_OF: Readonly<Record<CostedStep, ProviderStep>> = { script: 'script', safety: 'safety', speech: 'tts', images: 'images', render: 'render' };

/**
 * The estimated USD of one step with the engines it may run (the deployment's order, or the
 * project's): the dearest of them, since any of them may end up doing the work.
 */
function estimateStepCostUsd(config: AppConfig, step: CostedStep, size: StepSize, orders: Partial<ProviderOrders>): number {
  const order: readonly string[] = orders[ORDER_OF[step]] ?? providerOrders(config)[ORDER_OF[step]];
  return Math.max(0, ...order.map((engine) => engineCostUsd(config, step, engine, size)));
}

/**
 * Refuses a paid step that would take the content past its cost cap, before any provider is called:
 * a non-retryable `CostCapExceeded` failure that names the figures.
 */
export async function guardContentCost(ctx: AppContext, contentId: string, step: CostedStep, size: StepSize = {}, orders: Partial<ProviderOrders> = {}): Promise<void> {
  const estimateUsd = estimateStepCostUsd(ctx.config, step, size, orders);
  if (estimateUsd === 0) return;
  const { spentUsd, capUsd } = await ctx.db.usage.contentCost(contentId, ctx.config.costs.maxPerContentUsd);
  if (capUsd === undefined || spentUsd + estimateUsd <= capUsd) return;
  throw ApplicationFailure.nonRetryable(
    `the ${step} step would cost about $${estimateUsd.toFixed(4)}, and this content has already cost $${spentUsd.toFixed(4)} of its $${capUsd.toFixed(4)} cap`,
    'CostCapExceeded',
    { spentUsd, estimateUsd, capUsd, allowed: false },
  );
}
