import Stripe from 'stripe';
import type { StripeConfig } from '../../lib/config';

/**
 * The few Stripe calls the platform makes, through the official `stripe` package: a customer per
 * owner, a Checkout Session in subscription mode, a billing-portal session, cancelling a
 * subscription, and verifying a webhook's `Stripe-Signature`. Settings come in as arguments
 * (providers do not load lib/); `apiUrl` points the client at stripe-mock in tests.
 */

/** The event as the webhook handler reads it: Stripe's envelope with the object left untyped, whatever the API version. */
export interface StripeEventEnvelope {
  id: string;
  type: string;
  created: number;
  data: { object: Record<string, unknown> };
}

export class PaymentsNotConfiguredError extends Error {
  constructor() {
    super('payments are not configured: set STRIPE_SECRET_KEY and STRIPE_WEBHOOK_SECRET');
    this.name = 'PaymentsNotConfiguredError';
  }
}

/** A webhook whose signature is missing, wrong or older than the tolerance. The message names no secret. */
export class WebhookSignatureError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WebhookSignatureError';
  }
}

/** A Stripe call that failed; the message is Stripe's (it never carries the key). */
export class PaymentProviderError extends Error {
  constructor(
    message: string,
    readonly status: number | undefined,
  ) {
    super(message);
    this.name = 'PaymentProviderError';
  }
}

export interface CheckoutRequest {
  customerId: string;
  priceId: string;
  /** Our subscription id: Checkout's client_reference_id and the Stripe subscription's metadata. */
  subscriptionId: string;
  successUrl: string;
  cancelUrl: string;
}

export interface StripePayments {
  createCustomer(input: { email: string | undefined; name: string; ownerRef: string }): Promise<string>;
  createCheckout(input: CheckoutRequest): Promise<{ id: string; url: string }>;
  createPortal(input: { customerId: string; returnUrl: string }): Promise<string>;
  cancelSubscription(stripeSubscriptionId: string): Promise<void>;
  /** Verifies the signature over the raw body (the SDK's default 300 s tolerance) and parses the event. */
  constructEvent(rawBody: Buffer, signature: string | undefined): StripeEventEnvelope;
}

/** The metadata key that ties Stripe objects back to our subscription row. */
export const SUBSCRIPTION_METADATA_KEY = 'autoclip_subscription_id';

function clientOptions(apiUrl: string | undefined): ConstructorParameters<typeof Stripe>[1] {
  const options: ConstructorParameters<typeof Stripe>[1] = { maxNetworkRetries: 2, timeout: 20_000, appInfo: { name: 'autoclip' } };
  if (!apiUrl) return options;
  const url = new URL(apiUrl);
  const protocol = url.protocol === 'http:' ? 'http' : 'https';
  return { ...options, host: url.hostname, port: url.port || (protocol === 'http' ? 80 : 443), protocol };
}

async function call<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (err) {
    if (err instanceof Stripe.errors.StripeError) throw new PaymentProviderError(`Stripe: ${err.message}`, err.statusCode);
    throw err;
  }
}

/** The client, or undefined when no secret key is configured (paid plans are then refused). */
export function createStripePayments(config: StripeConfig): StripePayments | undefined {
  if (!config.secretKey || !config.webhookSecret) return undefined;
  const webhookSecret = config.webhookSecret;
  const stripe = new Stripe(config.secretKey, clientOptions(config.apiUrl));
  return {
    createCustomer: ({ email, name, ownerRef }) =>
      call(async () => (await stripe.customers.create({ ...(email ? { email } : {}), name, metadata: { autoclip_owner: ownerRef } })).id),
    createCheckout: ({ customerId, priceId, subscriptionId, successUrl, cancelUrl }) =>
      call(async () => {
        const session = await stripe.checkout.sessions.create({
          mode: 'subscription',
          customer: customerId,
          line_items: [{ price: priceId, quantity: 1 }],
          client_reference_id: subscriptionId,
          metadata: { [SUBSCRIPTION_METADATA_KEY]: subscriptionId },
          subscription_data: { metadata: { [SUBSCRIPTION_METADATA_KEY]: subscriptionId } },
          success_url: successUrl,
          cancel_url: cancelUrl,
        });
        if (!session.url) throw new PaymentProviderError('Stripe: the checkout session has no URL', undefined);
        return { id: session.id, url: session.url };
      }),
    createPortal: ({ customerId, returnUrl }) => call(async () => (await stripe.billingPortal.sessions.create({ customer: customerId, return_url: returnUrl })).url),
    cancelSubscription: (stripeSubscriptionId) =>
      call(async () => {
        await stripe.subscriptions.cancel(stripeSubscriptionId);
      }),
    constructEvent(rawBody, signature) {
      if (!signature) throw new WebhookSignatureError('no Stripe-Signature header');
      try {
        return stripe.webhooks.constructEvent(rawBody, signature, webhookSecret) as unknown as StripeEventEnvelope;
      } catch (err) {
        // The SDK's messages name the failure (no signature matched, timestamp outside the tolerance), not the secret.
        const message = err instanceof Error ? err.message.split('\n')[0]! : 'invalid signature';
        throw new WebhookSignatureError(message.slice(0, 200));
      }
    },
  };
}
