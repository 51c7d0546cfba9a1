// The Stripe adapter: the official SDK against Stripe itself or our Stripe-compatible simulator.
import type Stripe from 'stripe';
import { createStripeClient } from '@clearhouse/shared';
import { PspSignatureError, type CreateCheckoutSessionRequest, type PaymentsPsp, type PspCheckoutSession, type PspRefundState } from './port.js';
import { disputeStateFromStripe, paymentStateFromStripe, payoutStateFromStripe, pspErrorFromStripe, refundStateFromStripe, webhookEventFromStripe } from './transformers.js';

export const WEBHOOK_TOLERANCE_SECONDS = 300;
/** Refunds looked at per payment intent: far above any real basket's refunds. */
const REFUNDS_LISTED_MAX = 500;

export interface StripeAdapterOptions {
  apiKey: string;
  /** e.g. http://localhost:4010 (the simulator); null talks to Stripe itself. */
  apiBase: string | null;
  timeoutMs: number;
  webhookSecret: string;
}

export function createPaymentsStripeClient(options: StripeAdapterOptions): Stripe {
  // Retries are ours (psp/executor.ts): bounded, logged and aware of Stripe's replayed 5xx.
  return createStripeClient({ ...options, maxNetworkRetries: 0 });
}

export function createStripePsp(options: StripeAdapterOptions): PaymentsPsp {
  const stripe = createPaymentsStripeClient(options);
  return {
    async createCheckoutSession(request: CreateCheckoutSessionRequest): Promise<PspCheckoutSession> {
      try {
        const session = await stripe.checkout.sessions.create(
          {
            mode: 'payment',
            client_reference_id: request.paymentId,
            metadata: { paymentId: request.paymentId },
            payment_intent_data: { metadata: { paymentId: request.paymentId }, description: `Clearhouse payment ${request.paymentId}` },
            line_items: request.lines.map((line) => ({
              quantity: 1,
              price_data: { currency: request.currency.toLowerCase(), unit_amount: Number(line.amountMinor), product_data: { name: line.name } },
            })),
            ...(request.returnUrl ? { success_url: request.returnUrl, cancel_url: request.returnUrl } : {}),
          },
          { idempotencyKey: request.idempotencyKey },
        );
        const paymentIntentId = typeof session.payment_intent === 'string' ? session.payment_intent : (session.payment_intent?.id ?? null);
        if (!paymentIntentId || !session.url) throw new Error(`checkout session ${session.id} came back without a payment intent or url`);
        return { sessionId: session.id, paymentIntentId, url: session.url };
      } catch (error) {
        throw pspErrorFromStripe(error);
      }
    },

    async retrievePaymentIntent(paymentIntentId) {
      try {
        return paymentStateFromStripe(await stripe.paymentIntents.retrieve(paymentIntentId));
      } catch (error) {
        throw pspErrorFromStripe(error);
      }
    },

    async expireCheckoutSession(sessionId, idempotencyKey) {
      try {
        const session = await stripe.checkout.sessions.retrieve(sessionId);
        if (session.status !== 'open') return;
        await stripe.checkout.sessions.expire(sessionId, {}, { idempotencyKey });
      } catch (error) {
        const pspError = pspErrorFromStripe(error);
        // Expired or completed meanwhile: nothing left to expire.
        if (pspError.kind === 'rejected' && pspError.code === 'checkout_session_unexpected_state') return;
        throw pspError;
      }
    },

    async createRefund(request) {
      try {
        const refund = await stripe.refunds.create(
          {
            payment_intent: request.paymentIntentId,
            amount: Number(request.amountMinor),
            metadata: { refundId: request.refundId, paymentOrderId: request.paymentOrderId },
          },
          { idempotencyKey: request.idempotencyKey },
        );
        return refundStateFromStripe(refund);
      } catch (error) {
        throw pspErrorFromStripe(error);
      }
    },

    async retrieveRefund(pspRefundId) {
      try {
        return refundStateFromStripe(await stripe.refunds.retrieve(pspRefundId));
      } catch (error) {
        throw pspErrorFromStripe(error);
      }
    },

    async listRefunds(paymentIntentId) {
      try {
        const found: PspRefundState[] = [];
        for await (const refund of stripe.refunds.list({ payment_intent: paymentIntentId, limit: 100 })) {
          found.push(refundStateFromStripe(refund));
          if (found.length >= REFUNDS_LISTED_MAX) break;
        }
        return found;
      } catch (error) {
        throw pspErrorFromStripe(error);
      }
    },

    async retrieveDispute(pspDisputeId) {
      try {
        return disputeStateFromStripe(await stripe.disputes.retrieve(pspDisputeId));
      } catch (error) {
        throw pspErrorFromStripe(error);
      }
    },

    async retrievePayout(pspPayoutId) {
      try {
        return payoutStateFromStripe(await stripe.payouts.retrieve(pspPayoutId));
      } catch (error) {
        throw pspErrorFromStripe(error);
      }
    },

    parseWebhook(rawBody, signatureHeader) {
      if (!signatureHeader) throw new PspSignatureError('missing Stripe-Signature header');
      let event: Stripe.Event;
      try {
        event = stripe.webhooks.constructEvent(rawBody, signatureHeader, options.webhookSecret, WEBHOOK_TOLERANCE_SECONDS);
      } catch (error) {
        throw new PspSignatureError(error instanceof Error ? error.message : 'invalid signature');
      }
      return webhookEventFromStripe(event);
    },
  };
}
