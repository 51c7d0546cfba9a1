// The Stripe adapter: the official SDK against Stripe itself or our Stripe-compatible simulator.
import type Stripe from 'stripe';
import { createStripeClient } from '@clearhouse/shared';
import type { PayoutsPsp } from './port.js';
import { payoutStateFromStripe, pspErrorFromStripe } from './transformers.js';

/** Bound of the search for an existing payout: the destination's 500 most recent payouts. */
const FIND_PAGES_MAX = 5;

export interface StripeAdapterOptions {
  apiKey: string;
  /** e.g. http://localhost:4010 (the simulator); null talks to Stripe itself. */
  apiBase: string | null;
  timeoutMs: number;
}

export function createPayoutsStripeClient(options: StripeAdapterOptions): Stripe {
  // Retries are ours (psp/executor.ts and the consumer's retry tiers): bounded and logged.
  return createStripeClient({ ...options, maxNetworkRetries: 0 });
}

export function createStripePayoutsPsp(options: StripeAdapterOptions): PayoutsPsp {
  const stripe = createPayoutsStripeClient(options);
  return {
    async createPayout(request) {
      try {
        const payout = await stripe.payouts.create(
          {
            amount: Number(request.amountMinor),
            currency: request.currency.toLowerCase(),
            destination: request.destination,
            description: `Clearhouse payout ${request.payoutId}`,
            metadata: { payoutId: request.payoutId, sellerId: request.sellerId },
          },
          { idempotencyKey: request.idempotencyKey },
        );
        return payoutStateFromStripe(payout);
      } catch (error) {
        throw pspErrorFromStripe(error);
      }
    },

    async findPayout(payoutId, destination) {
      try {
        let startingAfter: string | undefined;
        for (let page = 0; page < FIND_PAGES_MAX; page++) {
          const list = await stripe.payouts.list({ destination, limit: 100, ...(startingAfter ? { starting_after: startingAfter } : {}) });
          const found = list.data.find((payout) => payout.metadata?.payoutId === payoutId);
          if (found) return payoutStateFromStripe(found);
          const last = list.data[list.data.length - 1];
          if (!list.has_more || !last) return null;
          startingAfter = last.id;
        }
        return null;
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
  };
}
