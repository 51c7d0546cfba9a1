// PSP webhooks: verify the signature, skip events seen before, then let the PSP's CURRENT
// state of the payment intent decide (the event only says "look again").
import { PspError, PspSignatureError, type PspWebhookEvent } from '../psp/port.js';
import type { PaymentsDeps } from './deps.js';
import { handleDisputeWebhook } from './disputes.js';
import { forwardPayoutWebhook } from './payout-webhooks.js';
import { handleRefundWebhook } from './refunds.js';
import { retrievePspState, syncPaymentWithPsp } from './sync-with-psp.js';

export interface WebhookAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** Events that can never change a payment (see handleStripeWebhook). */
const NEWS_FREE_EVENT_TYPES: ReadonlySet<string> = new Set(['payment_intent.created']);

/** One attempt per delivery: the PSP redelivers on a non-2xx answer. */
const WEBHOOK_RETRIEVE_ATTEMPTS_MAX = 2;

export async function handleStripeWebhook(deps: PaymentsDeps, rawBody: Buffer, signatureHeader: string | undefined): Promise<WebhookAnswer> {
  let event;
  try {
    event = deps.psp.parseWebhook(rawBody, signatureHeader);
  } catch (error) {
    if (error instanceof PspSignatureError) {
      deps.logger.warn({ reason: error.message }, 'webhook rejected: bad signature');
      return { status: 400, body: { error: 'invalid signature' } };
    }
    return { status: 400, body: { error: 'invalid payload' } };
  }
  // The intent's creation is recorded from the PSP's answer to the registration call (with the
  // session); its event cannot move the payment, so it costs neither a PSP call nor a lock. Like
  // an endpoint not subscribed to it (Stripe's enabled_events), minus the configuration.
  if (NEWS_FREE_EVENT_TYPES.has(event.type)) return { status: 200, body: { received: true, ignored: `${event.type} carries no news for the payment` } };
  const aftersale = aftersaleHandler(event.type);
  // One read: a redelivery is answered without asking the PSP; the payment as it is now lets a
  // status change be one statement (syncPaymentWithPsp).
  const snapshot = await deps.store.webhookSnapshot(event.id, aftersale ? null : (event.paymentIntentId ?? null));
  if (snapshot.processed) return { status: 200, body: { received: true, duplicate: true } };
  if (aftersale) {
    try {
      return { status: 200, body: { received: true, outcome: await aftersale(deps, event) } };
    } catch (error) {
      if (error instanceof PspError && error.kind === 'rejected') return { status: 200, body: { received: true, ignored: `unknown PSP object (${error.code ?? 'rejected'})` } };
      deps.logger.warn({ eventId: event.id, type: event.type, err: error }, 'webhook not applied; the PSP will deliver it again');
      return { status: 503, body: { error: 'not applied, retry later' } };
    }
  }
  if (!event.paymentIntentId) return { status: 200, body: { received: true, ignored: 'not about a payment intent' } };

  let state;
  try {
    state = await retrievePspState(deps, event.paymentIntentId, { ...deps.pspPolicy, attemptsMax: Math.min(deps.pspPolicy.attemptsMax, WEBHOOK_RETRIEVE_ATTEMPTS_MAX) });
  } catch (error) {
    if (error instanceof PspError && error.kind === 'rejected') return { status: 200, body: { received: true, ignored: 'unknown payment intent' } };
    // Tell the PSP to deliver again later; nothing was recorded.
    return { status: 503, body: { error: 'psp unavailable, retry later' } };
  }
  if (!state.paymentId) return { status: 200, body: { received: true, ignored: 'not a Clearhouse payment' } };
  const known = snapshot.payment ? { payment: snapshot.payment, orders: snapshot.orders } : undefined;
  const outcome = await syncPaymentWithPsp(deps, state.paymentId, state, `webhook ${event.type}`, event, known);
  return { status: 200, body: { received: true, outcome: outcome.kind } };
}

type AftersaleHandler = (deps: PaymentsDeps, event: PspWebhookEvent) => Promise<string>;

/** Refunds and disputes mark their webhook processed inside the transaction that applies them. */
async function refundWebhook(deps: PaymentsDeps, event: PspWebhookEvent): Promise<string> {
  const outcome = await handleRefundWebhook(deps, event);
  // Refund settlement is idempotent on its own (a PENDING refund settles, a SUCCEEDED one is only
  // reversed when the PSP reports it failed, FAILED is final); the id is kept
  // so a redelivery is answered without asking the PSP again.
  await deps.store.transaction((tx) => tx.markWebhookProcessed(event.id, event.type));
  return outcome;
}

function aftersaleHandler(type: string): AftersaleHandler | null {
  if (type.startsWith('refund.') || type === 'charge.refunded' || type === 'charge.refund.updated') return refundWebhook;
  if (type.startsWith('charge.dispute.')) return handleDisputeWebhook;
  if (type.startsWith('payout.')) return forwardPayoutWebhook;
  return null;
}
