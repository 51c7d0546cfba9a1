// The payment order lifecycle as one transition table. The pay-in statuses follow the payment
// (orderStatusFor in payment-status.ts); after-sale changes (delivery, refunds) go through here.
//
//   PENDING → SUCCEEDED | FAILED | CANCELED;  FAILED → SUCCEEDED (money collected after all)
//   SUCCEEDED → DELIVERED | PARTIALLY_REFUNDED | REFUNDED
//   PARTIALLY_REFUNDED → DELIVERED | REFUNDED (and another partial refund keeps it)
//   DELIVERED → PARTIALLY_REFUNDED | REFUNDED
//
// A refund that fails at the PSP after it had succeeded moves the order back (its own table, used
// only by the refund reversal): REFUNDED → PARTIALLY_REFUNDED | SUCCEEDED | DELIVERED,
// PARTIALLY_REFUNDED → SUCCEEDED | DELIVERED (DELIVERED when deliveredAt is set).
//
// Delivery is also recorded in deliveredAt, so a delivered order that is refunded later still
// shows that it was delivered.
import type { PaymentOrderStatus } from './payment-status.js';

const ORDER_TRANSITIONS: Readonly<Record<PaymentOrderStatus, readonly PaymentOrderStatus[]>> = {
  PENDING: ['SUCCEEDED', 'FAILED', 'CANCELED'],
  SUCCEEDED: ['DELIVERED', 'PARTIALLY_REFUNDED', 'REFUNDED'],
  FAILED: ['SUCCEEDED'],
  CANCELED: [],
  PARTIALLY_REFUNDED: ['DELIVERED', 'REFUNDED'],
  DELIVERED: ['PARTIALLY_REFUNDED', 'REFUNDED'],
  REFUNDED: [],
};

export function canTransitionOrder(from: PaymentOrderStatus, to: PaymentOrderStatus): boolean {
  return ORDER_TRANSITIONS[from].includes(to);
}

/** The order's next status, or throws: an illegal order transition is a bug, never a silent no-op. */
export function nextOrderStatus(from: PaymentOrderStatus, to: PaymentOrderStatus): PaymentOrderStatus {
  if (from === to) return to;
  if (!canTransitionOrder(from, to)) throw new Error(`illegal payment order transition ${from} → ${to}`);
  return to;
}

const REFUND_REVERSAL_ORDER_TRANSITIONS: Readonly<Partial<Record<PaymentOrderStatus, readonly PaymentOrderStatus[]>>> = {
  REFUNDED: ['PARTIALLY_REFUNDED', 'SUCCEEDED', 'DELIVERED'],
  PARTIALLY_REFUNDED: ['SUCCEEDED', 'DELIVERED'],
};

/** The order's status after a refund reversal, or throws (an illegal move is a bug). */
export function nextOrderStatusAfterRefundReversal(from: PaymentOrderStatus, to: PaymentOrderStatus): PaymentOrderStatus {
  if (from === to) return to;
  if (!REFUND_REVERSAL_ORDER_TRANSITIONS[from]?.includes(to)) throw new Error(`illegal payment order refund reversal ${from} → ${to}`);
  return to;
}
