// The one path by which a payment changes status: decide with the transition table, then, in
// the caller's transaction, save the payment and its orders, a timeline entry and the outbox
// events (payment.status_changed@1 always, payment.succeeded@1 when the money is collected).
import { newEvent, serializeEventPayload, type PaymentStatusChangedV1, type PaymentSucceededV1 } from '@clearhouse/shared';
import { AFTERSALE_STATUSES, decideRefundReversal, decideTransition, keepsCheckoutUrl, orderStatusFor, type PaymentStatus, type TransitionDecision } from '../domain/payment-status.js';
import type { PaymentOrderRecord, PaymentPatch, PaymentRecord, PaymentsTransaction } from './ports.js';

export interface TransitionRequest {
  to: PaymentStatus;
  /** Extra fields saved with the change (PSP ids, checkout URL, failure). */
  patch?: PaymentPatch;
  /** Who asked: webhook, recheck, createCheckout, cancelPayment. */
  cause: string;
  chargeId?: string | null;
  at?: Date;
  /**
   * The payment's orders, when the caller holds them as they are in the database now (read in
   * this transaction, or inserted by this request): when they already have the status the move
   * gives them, they are not written again.
   */
  knownOrders?: readonly PaymentOrderRecord[];
  /**
   * A succeeded refund failed at the PSP: decided by the refund reversal table (the only backward
   * moves), not by the lifecycle table.
   */
  refundReversal?: boolean;
}


export type TransitionOutcome =
  | { changed: true; payment: PaymentRecord; orders: readonly PaymentOrderRecord[] }
  | { changed: false; decision: TransitionDecision; payment: PaymentRecord };

export function statusChangedEvent(payment: PaymentRecord, orders: readonly PaymentOrderRecord[], from: PaymentStatus, to: PaymentStatus, at: Date) {
  const payload: PaymentStatusChangedV1 = {
    paymentId: payment.id,
    from,
    to,
    at,
    currency: payment.currency,
    refundedAmountMinor: payment.refundedAmountMinor,
    sellerIds: [...new Set(orders.map((order) => order.sellerId))],
  };
  return newEvent('payment.status_changed', 1, payment.id, serializeEventPayload('payment.status_changed@1', payload));
}

export function succeededEvent(payment: PaymentRecord, orders: readonly PaymentOrderRecord[], pspPaymentIntentId: string, chargeId: string | null, at: Date) {
  const payload: PaymentSucceededV1 = {
    paymentId: payment.id,
    buyerId: payment.buyerId,
    currency: payment.currency,
    amountMinor: payment.amountMinor,
    pspPaymentIntentId,
    ...(chargeId ? { pspChargeId: chargeId } : {}),
    succeededAt: at,
    orders: orders.map((order) => ({
      paymentOrderId: order.id,
      sellerId: order.sellerId,
      amountMinor: order.amountMinor,
      feeMinor: order.feeMinor,
      netAmountMinor: order.netAmountMinor,
    })),
  };
  return newEvent('payment.succeeded', 1, payment.id, serializeEventPayload('payment.succeeded@1', payload));
}

/** Applies `request` to the locked `payment` inside `tx`; an illegal or backward move writes nothing. */
export async function transitionPayment(tx: PaymentsTransaction, payment: PaymentRecord, request: TransitionRequest): Promise<TransitionOutcome> {
  const decision = request.refundReversal ? decideRefundReversal(payment.status, request.to) : decideTransition(payment.status, request.to);
  if (decision.kind !== 'apply') return { changed: false, decision, payment };

  const at = request.at ?? new Date();
  const from = payment.status;
  const to = request.to;
  const patch: PaymentPatch = { ...request.patch, status: to };
  if (!keepsCheckoutUrl(to)) patch.checkoutUrl = null;
  if (to !== 'FAILED') {
    patch.failureCode = null;
    patch.failureMessage = null;
  }
  const updated = await tx.updatePayment(payment.id, payment.version, patch);

  // After the money was collected (back from a chargeback or a reversed refund) the orders keep
  // their own after-sale statuses and payment.succeeded@1 is not announced again.
  const afterSale = AFTERSALE_STATUSES.includes(from);
  const orderStatus = afterSale ? null : orderStatusFor(to);
  const known = request.knownOrders;
  let orders: readonly PaymentOrderRecord[];
  if (known && known.length > 0 && known.every((order) => order.paymentId === payment.id && (orderStatus === null || order.status === orderStatus))) orders = known;
  else orders = orderStatus === null ? await tx.ordersOf(payment.id) : await tx.setOrdersStatus(payment.id, orderStatus);

  await tx.addTimeline({
    paymentId: payment.id,
    at,
    source: 'payments',
    type: 'payment.status_changed',
    message: `${from} → ${to} (${request.cause})`,
    data: { from, to, cause: request.cause, ...(to === 'FAILED' ? { failureCode: updated.failureCode, failureMessage: updated.failureMessage } : {}) },
  });
  await tx.writeEvent(statusChangedEvent(updated, orders, from, to, at));
  if (to === 'SUCCEEDED' && !afterSale) {
    const pspPaymentIntentId = updated.pspPaymentIntentId;
    if (!pspPaymentIntentId) throw new Error(`payment ${payment.id} succeeded without a PSP payment intent`);
    await tx.writeEvent(succeededEvent(updated, orders, pspPaymentIntentId, request.chargeId ?? null, at));
  }
  return { changed: true, payment: updated, orders };
}
