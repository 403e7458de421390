import { ApplicationFailure } from '@temporalio/common';
import type { AppContext } from '../lib/app-context';
import { checkContentCost, estimateStepCostUsd, type CostedStep, type StepSize } from '../lib/costs';

/**
 * Refuses a paid step that would take the content past its cost cap (lib/costs.ts), before any
 * provider is called: a non-retryable `CostCapExceeded` failure that names the figures.
 */
export async function guardContentCost(ctx: AppContext, contentId: string, step: CostedStep, size: StepSize = {}): Promise<void> {
  const estimate = estimateStepCostUsd(ctx.config, step, size);
  if (estimate === 0) return;
  const check = await checkContentCost(ctx.sequelize, ctx.config, contentId, estimate);
  if (check.allowed) return;
  throw ApplicationFailure.nonRetryable(
    `the ${step} step would cost about $${estimate.toFixed(4)}, and this content has already cost $${check.spentUsd.toFixed(4)} of its $${check.capUsd?.toFixed(4)} cap`,
    'CostCapExceeded',
    check,
  );
}
