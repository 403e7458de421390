import type { CreditTransaction, Subscription, SubscriptionPlan } from '../../db/models';

/** What the API shows of plans, subscriptions and the credit ledger: explicit field lists. */
export function serializePlan(plan: SubscriptionPlan) {
  return {
    id: plan.id,
    code: plan.code,
    name: plan.name,
    price_monthly: plan.price_monthly,
    price_yearly: plan.price_yearly,
    currency: plan.currency,
    monthly_credits: plan.monthly_credits,
    max_channels: plan.max_channels,
    max_projects: plan.max_projects,
    features: plan.features,
    display_order: plan.display_order,
  };
}

/** A subscription with its plan. Payment ids stay internal. */
export function serializeSubscription(subscription: Subscription, plan: SubscriptionPlan) {
  return {
    id: subscription.id,
    user_id: subscription.user_id,
    organization_id: subscription.organization_id,
    plan: serializePlan(plan),
    status: subscription.status,
    billing_cycle: subscription.billing_cycle,
    started_at: subscription.started_at,
    current_period_start: subscription.current_period_start,
    current_period_end: subscription.current_period_end,
    cancelled_at: subscription.cancelled_at,
    credits_used: subscription.credits_used,
    credits_remaining: subscription.credits_remaining,
    created_at: subscription.created_at,
    updated_at: subscription.updated_at,
  };
}

export function serializeCreditTransaction(transaction: CreditTransaction) {
  return {
    id: transaction.id,
    subscription_id: transaction.subscription_id,
    transaction_type: transaction.transaction_type,
    credits_amount: transaction.credits_amount,
    credits_balance: transaction.credits_balance,
    content_id: transaction.content_id,
    description: transaction.description,
    created_at: transaction.created_at,
  };
}
