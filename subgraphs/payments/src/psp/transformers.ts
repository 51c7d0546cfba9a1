// Stripe's wire format → ours. The one place that knows Stripe's payment intent statuses.
import type Stripe from 'stripe';
import type { PaymentStatus } from '../domain/payment-status.js';
import { PspError, type PspDisputeState, type PspPaymentState, type PspPayoutState, type PspRefundState, type PspWebhookEvent } from './port.js';

/**
 * Stripe payment intent status → our payment status. After a decline (or a failed 3-D Secure)
 * Stripe puts the intent back to `requires_payment_method` with `last_payment_error`: that is
 * FAILED for us (final; see domain/payment-status.ts). Without an error it is still waiting.
 */
export function paymentStatusFromStripe(status: string, hasLastPaymentError: boolean): PaymentStatus {
  switch (status) {
    case 'requires_payment_method':
      return hasLastPaymentError ? 'FAILED' : 'REQUIRES_PAYMENT';
    case 'requires_confirmation':
      return 'REQUIRES_PAYMENT';
    case 'requires_action':
      return 'REQUIRES_ACTION';
    case 'processing':
    case 'requires_capture':
      return 'PROCESSING';
    case 'succeeded':
      return 'SUCCEEDED';
    case 'canceled':
      return 'CANCELED';
    default:
      throw new PspError('rejected', `unknown payment intent status ${status}`, null, 'unknown_status');
  }
}

function idOf(value: string | { id: string } | null | undefined): string | null {
  if (value === null || value === undefined) return null;
  return typeof value === 'string' ? value : value.id;
}

export function paymentStateFromStripe(intent: Stripe.PaymentIntent): PspPaymentState {
  const error = intent.last_payment_error ?? null;
  const status = paymentStatusFromStripe(intent.status, error !== null);
  return {
    paymentIntentId: intent.id,
    status,
    pspStatus: intent.status,
    paymentId: intent.metadata?.paymentId ?? null,
    amountMinor: BigInt(intent.amount),
    currency: intent.currency.toUpperCase(),
    chargeId: idOf(intent.latest_charge),
    failureCode: status === 'FAILED' && error ? (error.decline_code ?? error.code ?? 'payment_failed') : null,
    failureMessage: status === 'FAILED' && error ? (error.message ?? 'The payment failed.') : null,
  };
}

const PAYMENT_INTENT_PREFIX = 'pi_';

/** The payment intent an event is about: the object itself, or its `payment_intent` field. */
export function webhookEventFromStripe(event: Stripe.Event): PspWebhookEvent {
  const object = event.data.object as unknown as Record<string, unknown>;
  let paymentIntentId: string | null = null;
  if (object.object === 'payment_intent' && typeof object.id === 'string') paymentIntentId = object.id;
  else if (typeof object.payment_intent === 'string') paymentIntentId = object.payment_intent;
  else if (typeof object.payment_intent === 'object' && object.payment_intent !== null) paymentIntentId = idOf(object.payment_intent as { id: string });
  if (paymentIntentId !== null && !paymentIntentId.startsWith(PAYMENT_INTENT_PREFIX)) paymentIntentId = null;
  const objectType = typeof object.object === 'string' ? object.object : null;
  const objectId = typeof object.id === 'string' ? object.id : null;
  return { id: event.id, type: event.type, paymentIntentId, objectType, objectId, createdAtMs: event.created * 1000 };
}

/** Stripe refund status → ours; `requires_action` (bank-transfer refunds) counts as pending. */
export function refundStateFromStripe(refund: Stripe.Refund): PspRefundState {
  const status = refund.status === 'succeeded' || refund.status === 'failed' || refund.status === 'canceled' ? refund.status : 'pending';
  return {
    pspRefundId: refund.id,
    paymentIntentId: idOf(refund.payment_intent),
    amountMinor: BigInt(refund.amount),
    currency: refund.currency.toUpperCase(),
    status,
    refundId: refund.metadata?.refundId ?? null,
    failureReason: refund.failure_reason ?? null,
  };
}

/** Stripe dispute status → open | won | lost; warning_closed counts as won (no chargeback happened). */
export function disputeStateFromStripe(dispute: Stripe.Dispute): PspDisputeState {
  let status: PspDisputeState['status'] = 'open';
  if (dispute.status === 'won' || dispute.status === 'warning_closed') status = 'won';
  else if (dispute.status === 'lost') status = 'lost';
  let feeMinor = 0n;
  for (const transaction of dispute.balance_transactions ?? []) {
    if (transaction.amount < 0) feeMinor += BigInt(transaction.fee);
  }
  return {
    pspDisputeId: dispute.id,
    paymentIntentId: idOf(dispute.payment_intent),
    amountMinor: BigInt(dispute.amount),
    currency: dispute.currency.toUpperCase(),
    status,
    pspStatus: dispute.status,
    reason: dispute.reason ?? null,
    feeMinor,
  };
}

export function payoutStateFromStripe(payout: Stripe.Payout): PspPayoutState {
  return {
    pspPayoutId: payout.id,
    status: payout.status,
    payoutId: payout.metadata?.payoutId ?? null,
    failureCode: payout.failure_code ?? null,
    failureMessage: payout.failure_message ?? null,
  };
}

/** Any error of the SDK (or the network under it) → PspError with a kind our executor understands. */
export function pspErrorFromStripe(error: unknown): PspError {
  if (error instanceof PspError) return error;
  const e = error as { type?: string; statusCode?: number; code?: string; message?: string; rawType?: string };
  const message = e?.message ?? String(error);
  const statusCode = typeof e?.statusCode === 'number' ? e.statusCode : null;
  const code = e?.code ?? null;
  switch (e?.type) {
    case 'StripeConnectionError':
      return new PspError(/timeout/i.test(message) ? 'timeout' : 'connection', message, statusCode, code, { cause: error });
    case 'StripeRateLimitError':
      return new PspError('rate_limited', message, statusCode, code, { cause: error });
    case 'StripeIdempotencyError':
      return statusCode === 409 ? new PspError('in_use', message, statusCode, code, { cause: error }) : new PspError('rejected', message, statusCode, code, { cause: error });
    case 'StripeAPIError':
      return new PspError('server', message, statusCode, code, { cause: error });
    default:
      if (statusCode !== null && statusCode >= 500) return new PspError('server', message, statusCode, code, { cause: error });
      if (statusCode === null && e?.type === undefined) return new PspError('connection', message, null, code, { cause: error });
      return new PspError('rejected', message, statusCode, code, { cause: error });
  }
}
