// The payment lifecycle (ARCHITECTURE "Payment lifecycle") as one transition table. Every status
// change of a payment goes through decideTransition; nothing else writes `status`.
//
//   CREATED → REQUIRES_PAYMENT → (REQUIRES_ACTION | PROCESSING) → SUCCEEDED | FAILED | CANCELED
//   SUCCEEDED → PARTIALLY_REFUNDED → REFUNDED, and DISPUTED on a chargeback.
//
// A refund that fails at the PSP after it had succeeded (the card issuer rejected it) moves the
// payment back: REFUNDED → PARTIALLY_REFUNDED | SUCCEEDED, PARTIALLY_REFUNDED → SUCCEEDED. These
// are the only backward moves, so they live in their own table (decideRefundReversal) that only
// the refund reversal uses: a late webhook, through decideTransition, still never moves back.
//
// FAILED is final for the buyer: the checkout URL is withdrawn and the PSP session expired, so
// the same page cannot be paid again. The one way out of FAILED is SUCCEEDED, when the PSP
// (authoritative) reports that money was collected anyway (the buyer paid again in the instant
// before the session was expired): money that moved is never hidden.
import type { PaymentStatus } from '@clearhouse/shared';

export type { PaymentStatus };

export const PAYMENT_ORDER_STATUSES = ['PENDING', 'SUCCEEDED', 'FAILED', 'CANCELED', 'DELIVERED', 'PARTIALLY_REFUNDED', 'REFUNDED'] as const;
export type PaymentOrderStatus = (typeof PAYMENT_ORDER_STATUSES)[number];

const TRANSITIONS: Readonly<Record<PaymentStatus, readonly PaymentStatus[]>> = {
  CREATED: ['REQUIRES_PAYMENT', 'REQUIRES_ACTION', 'PROCESSING', 'SUCCEEDED', 'FAILED', 'CANCELED'],
  REQUIRES_PAYMENT: ['REQUIRES_ACTION', 'PROCESSING', 'SUCCEEDED', 'FAILED', 'CANCELED'],
  REQUIRES_ACTION: ['PROCESSING', 'SUCCEEDED', 'FAILED', 'CANCELED'],
  PROCESSING: ['SUCCEEDED', 'FAILED'],
  SUCCEEDED: ['PARTIALLY_REFUNDED', 'REFUNDED', 'DISPUTED'],
  FAILED: ['SUCCEEDED'],
  CANCELED: [],
  PARTIALLY_REFUNDED: ['REFUNDED', 'DISPUTED'],
  REFUNDED: [],
  DISPUTED: ['SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED'],
};

/**
 * How far along the lifecycle a status is. A status the PSP reports that is behind the current
 * one (a late or reordered event) is ignored: a payment never moves backwards.
 */
const STAGE: Readonly<Record<PaymentStatus, number>> = {
  CREATED: 0,
  REQUIRES_PAYMENT: 1,
  REQUIRES_ACTION: 2,
  PROCESSING: 3,
  SUCCEEDED: 4,
  FAILED: 4,
  CANCELED: 4,
  PARTIALLY_REFUNDED: 5,
  REFUNDED: 6,
  DISPUTED: 5,
};

const REFUND_REVERSAL_TRANSITIONS: Readonly<Partial<Record<PaymentStatus, readonly PaymentStatus[]>>> = {
  REFUNDED: ['PARTIALLY_REFUNDED', 'SUCCEEDED'],
  PARTIALLY_REFUNDED: ['SUCCEEDED'],
};

/** Statuses in which the buyer has not paid yet; cancelPayment is allowed only here. */
export const UNPAID_STATUSES: readonly PaymentStatus[] = ['CREATED', 'REQUIRES_PAYMENT', 'REQUIRES_ACTION'];
/** Statuses after the money was collected: refunds and disputes drive them, not the payment intent. */
export const AFTERSALE_STATUSES: readonly PaymentStatus[] = ['PARTIALLY_REFUNDED', 'REFUNDED', 'DISPUTED'];
/** Statuses the re-check job asks the PSP about. */
export const PSP_PENDING_STATUSES: readonly PaymentStatus[] = ['REQUIRES_PAYMENT', 'REQUIRES_ACTION', 'PROCESSING'];

export type TransitionDecision = { kind: 'apply' } | { kind: 'noop'; reason: string } | { kind: 'illegal'; reason: string };

export function canTransition(from: PaymentStatus, to: PaymentStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/** What to do when something (the PSP's state, a mutation) asks `from` to become `to`. */
export function decideTransition(from: PaymentStatus, to: PaymentStatus): TransitionDecision {
  if (from === to) return { kind: 'noop', reason: `already ${to}` };
  if (canTransition(from, to)) return { kind: 'apply' };
  // Expiring a failed payment's session cancels its intent at the PSP: expected, not news.
  if (from === 'FAILED' && to === 'CANCELED') return { kind: 'noop', reason: 'the failed payment\'s intent was canceled afterwards' };
  if (STAGE[to] < STAGE[from]) return { kind: 'noop', reason: `${to} is behind ${from}; a payment never moves backwards` };
  return { kind: 'illegal', reason: `illegal transition ${from} → ${to}` };
}

/** What a refund reversal (a succeeded refund failed at the PSP) asking `from` to become `to` does. */
export function decideRefundReversal(from: PaymentStatus, to: PaymentStatus): TransitionDecision {
  if (from === to) return { kind: 'noop', reason: `already ${to}` };
  if (REFUND_REVERSAL_TRANSITIONS[from]?.includes(to)) return { kind: 'apply' };
  return { kind: 'illegal', reason: `illegal refund reversal ${from} → ${to}` };
}

/** The orders' status that follows a payment status change, or null when orders keep theirs. */
export function orderStatusFor(status: PaymentStatus): PaymentOrderStatus | null {
  switch (status) {
    case 'SUCCEEDED':
      return 'SUCCEEDED';
    case 'FAILED':
      return 'FAILED';
    case 'CANCELED':
      return 'CANCELED';
    case 'CREATED':
    case 'REQUIRES_PAYMENT':
    case 'REQUIRES_ACTION':
    case 'PROCESSING':
      return 'PENDING';
    default:
      return null;
  }
}

/** The hosted page is shown until the payment is final (GraphQL: "null once the payment is final"). */
export function keepsCheckoutUrl(status: PaymentStatus): boolean {
  return status === 'REQUIRES_PAYMENT' || status === 'REQUIRES_ACTION' || status === 'PROCESSING';
}
