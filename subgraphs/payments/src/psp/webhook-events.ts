// The PSP events the payments webhook endpoint needs: what to enable on the endpoint (Stripe's
// `enabled_events`; the simulator's PSP_WEBHOOK_EVENTS, set by scripts/lib/platform.ts). Each one
// can change a payment, a refund, a dispute or a payout. Left out, because another event on the
// list always accompanies them: `payment_intent.created` (the registration records the intent),
// `charge.succeeded`/`charge.pending`/`charge.failed`/`charge.captured` (their payment intent
// moves too) and `checkout.session.completed` (sent with the intent's success or processing).
// The endpoint handles any event it receives all the same; the list only spares the PSP's and
// our work for events that carry no news (one webhook per settled card payment instead of four).
export const PAYMENTS_WEBHOOK_EVENTS = [
  'payment_intent.requires_action',
  'payment_intent.processing',
  'payment_intent.amount_capturable_updated',
  'payment_intent.succeeded',
  'payment_intent.payment_failed',
  'payment_intent.canceled',
  'checkout.session.expired',
  'checkout.session.async_payment_succeeded',
  'checkout.session.async_payment_failed',
  'charge.refunded',
  'charge.refund.updated',
  'refund.*',
  'charge.dispute.*',
  'payout.*',
] as const;
