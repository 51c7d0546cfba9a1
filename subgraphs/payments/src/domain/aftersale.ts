// After-sale money rules (pure): what is refundable, what a delivery or a refund does to an
// order, how a dispute splits over the orders. The seller-side splits use the shared policies
// (planRefund, planSellerDebit) so ledger and wallet apply the numbers the events carry.
import { allocateByRatios, planSellerDebit, refundReversalFeeMinor, type DisputeFeeBearer, type RefundFeePolicy, type SellerSplit } from '@clearhouse/shared';
import type { PaymentOrderStatus, PaymentStatus } from './payment-status.js';

export interface AftersaleOrder {
  id: string;
  sellerId: string;
  amountMinor: bigint;
  feeMinor: bigint;
  netAmountMinor: bigint;
  status: PaymentOrderStatus;
  refundedAmountMinor: bigint;
  reservedRefundMinor: bigint;
  pendingHeldMinor: bigint;
  deliveredAt: Date | null;
  releasedAt: Date | null;
}

/**
 * Payment statuses in which a refund is considered (not while a chargeback is open); in
 * REFUNDED nothing is left, which decideRefund reports as AMOUNT_EXCEEDS_REFUNDABLE.
 */
export const REFUNDABLE_PAYMENT_STATUSES: readonly PaymentStatus[] = ['SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED'];
/** Payment statuses in which an order may be delivered (a chargeback does not stop delivery). */
export const DELIVERABLE_PAYMENT_STATUSES: readonly PaymentStatus[] = ['SUCCEEDED', 'PARTIALLY_REFUNDED', 'DISPUTED'];
const DELIVERABLE_ORDER_STATUSES: readonly PaymentOrderStatus[] = ['SUCCEEDED', 'PARTIALLY_REFUNDED'];
const REFUNDABLE_ORDER_STATUSES: readonly PaymentOrderStatus[] = ['SUCCEEDED', 'PARTIALLY_REFUNDED', 'DELIVERED', 'REFUNDED'];

/** Gross amount still refundable: never refunded and not reserved by a refund in flight. */
export function refundableMinor(order: AftersaleOrder): bigint {
  const left = order.amountMinor - order.refundedAmountMinor - order.reservedRefundMinor;
  if (left < 0n) throw new Error(`order ${order.id}: refunds and reservations exceed the amount`);
  return left;
}

export type DeliveryDecision = { kind: 'deliver' } | { kind: 'already_delivered' } | { kind: 'invalid_state'; message: string };

export function decideDelivery(paymentStatus: PaymentStatus, order: AftersaleOrder): DeliveryDecision {
  if (order.deliveredAt !== null) return { kind: 'already_delivered' };
  if (!DELIVERABLE_PAYMENT_STATUSES.includes(paymentStatus) || !DELIVERABLE_ORDER_STATUSES.includes(order.status)) {
    return { kind: 'invalid_state', message: `an order in status ${order.status} (payment ${paymentStatus}) cannot be delivered` };
  }
  return { kind: 'deliver' };
}

export type RefundDecision =
  | { kind: 'refund'; amountMinor: bigint }
  | { kind: 'invalid_state'; message: string }
  | { kind: 'exceeds_refundable'; refundableMinor: bigint; message: string }
  | { kind: 'invalid_amount'; message: string };

/**
 * requestedMinor null: everything not yet refunded (or reserved). stepMinor: the PSP's amount step
 * in the payment's currency (pspAmountStepMinor: 10 for three-decimal currencies); a requested
 * amount must be a multiple of it.
 */
export function decideRefund(paymentStatus: PaymentStatus, order: AftersaleOrder, requestedMinor: bigint | null, stepMinor = 1n): RefundDecision {
  if (!REFUNDABLE_PAYMENT_STATUSES.includes(paymentStatus) || !REFUNDABLE_ORDER_STATUSES.includes(order.status)) {
    return { kind: 'invalid_state', message: `an order in status ${order.status} (payment ${paymentStatus}) cannot be refunded` };
  }
  if (requestedMinor !== null && requestedMinor > 0n && requestedMinor % stepMinor !== 0n) {
    return { kind: 'invalid_amount', message: `amountMinor must be a multiple of ${stepMinor} in this currency: the PSP takes its amounts in tens of the minor unit` };
  }
  const left = refundableMinor(order);
  const amountMinor = requestedMinor ?? left;
  if (amountMinor <= 0n || amountMinor > left) {
    return { kind: 'exceeds_refundable', refundableMinor: left, message: `at most ${left} minor units of this order can still be refunded` };
  }
  return { kind: 'refund', amountMinor };
}

/** The order's status once its refunds add up to refundedTotalMinor. */
export function orderStatusAfterRefund(order: AftersaleOrder, refundedTotalMinor: bigint): PaymentOrderStatus {
  return refundedTotalMinor >= order.amountMinor ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
}

/** The payment's status once its refunds add up to refundedTotalMinor: REFUNDED when every order is fully refunded. */
export function paymentStatusAfterRefund(paymentAmountMinor: bigint, refundedTotalMinor: bigint): PaymentStatus {
  return refundedTotalMinor >= paymentAmountMinor ? 'REFUNDED' : 'PARTIALLY_REFUNDED';
}

export interface DisputeOrderHold extends SellerSplit {
  disputeFeeMinor: bigint;
}

/**
 * Splits a disputed amount over the orders by what each still holds for the buyer (amount minus
 * refunded minus refunds in flight, refundableMinor: the PSP disputes captured − refunded and
 * counts a pending refund as refunded; largest remainder, ties to the earlier order), takes each
 * share from the order's pending hold first (planSellerDebit), and splits the PSP's dispute fee the same way when the
 * sellers bear it (DISPUTE_FEE_BORNE_BY=seller), else the orders carry no fee.
 */
export function planDisputeHolds(orders: readonly AftersaleOrder[], disputedMinor: bigint, disputeFeeMinor: bigint, feeBorneBy: DisputeFeeBearer): DisputeOrderHold[] {
  if (orders.length === 0) throw new Error('a dispute needs at least one order');
  if (disputedMinor <= 0n) throw new Error('the disputed amount must be positive');
  const stillPaidMinor = orders.map((order) => refundableMinor(order));
  const ratios = stillPaidMinor.some((paid) => paid > 0n) ? stillPaidMinor : orders.map((order) => order.amountMinor);
  const shares = allocateByRatios(disputedMinor, ratios);
  const fees = feeBorneBy === 'seller' && disputeFeeMinor > 0n ? allocateByRatios(disputeFeeMinor, shares.some((s) => s > 0n) ? shares : ratios) : orders.map(() => 0n);
  return orders.map((order, index) => {
    const debit = planSellerDebit(shares[index] ?? 0n, order.pendingHeldMinor);
    return { paymentOrderId: order.id, sellerId: order.sellerId, pendingMinor: debit.pendingMinor, availableMinor: debit.availableMinor, disputeFeeMinor: fees[index] ?? 0n };
  });
}

/**
 * Where money taken from a seller goes back to: as it was taken while the order has not been
 * released; all to available once the order's order.delivered@1 went out (its pending balance
 * was moved then, so nothing may be put back into pending).
 */
function planSellerReturn(taken: { pendingMinor: bigint; availableMinor: bigint }, released: boolean): { pendingMinor: bigint; availableMinor: bigint } {
  return released ? { pendingMinor: 0n, availableMinor: taken.pendingMinor + taken.availableMinor } : { pendingMinor: taken.pendingMinor, availableMinor: taken.availableMinor };
}

/** Withheld dispute money going back to the sellers (dispute won, or lost with the platform bearing the loss): planSellerReturn per order. */
export function planDisputeReturn(holds: readonly SellerSplit[], releasedOrderIds: ReadonlySet<string>): SellerSplit[] {
  return holds.map((hold) => ({ paymentOrderId: hold.paymentOrderId, sellerId: hold.sellerId, ...planSellerReturn(hold, releasedOrderIds.has(hold.paymentOrderId)) }));
}

export interface RefundSplit {
  feeRefundMinor: bigint;
  pendingMinor: bigint;
  availableMinor: bigint;
}

/**
 * The undoing of a succeeded refund that failed at the PSP, on the order as it is before the
 * reversal (its refundedAmountMinor, the sum of its SUCCEEDED refunds, includes this one): the
 * platform takes back the fee that leaves it returning the share of what stays refunded
 * (refundReversalFeeMinor: with rounding down this can differ from the refund's own fee by a unit),
 * the seller gets back the rest of the refund: what the refund took, with that difference on the
 * pending side (available once pending is not enough), then planSellerReturn. Parts add up to the refund.
 */
export function planRefundReversal(policy: RefundFeePolicy, order: AftersaleOrder, refund: RefundSplit): RefundSplit {
  const amountMinor = refund.feeRefundMinor + refund.pendingMinor + refund.availableMinor;
  const feeRefundMinor = refundReversalFeeMinor(policy, order, order.refundedAmountMinor, { amountMinor, feeRefundMinor: refund.feeRefundMinor });
  const sellerBackMinor = amountMinor - feeRefundMinor;
  const pendingBackMinor = refund.pendingMinor + refund.feeRefundMinor - feeRefundMinor;
  const taken = pendingBackMinor > 0n ? { pendingMinor: pendingBackMinor, availableMinor: sellerBackMinor - pendingBackMinor } : { pendingMinor: 0n, availableMinor: sellerBackMinor };
  return { feeRefundMinor, ...planSellerReturn(taken, order.releasedAt !== null) };
}

/**
 * The order's status once a reversed refund leaves refundedTotalMinor refunded. A DELIVERED order
 * (delivered after a partial refund) stays DELIVERED.
 */
export function orderStatusAfterRefundReversal(order: AftersaleOrder, refundedTotalMinor: bigint): PaymentOrderStatus {
  if (order.status === 'DELIVERED') return 'DELIVERED';
  if (refundedTotalMinor > 0n) return 'PARTIALLY_REFUNDED';
  return order.deliveredAt === null ? 'SUCCEEDED' : 'DELIVERED';
}

/** The payment's status once a reversed refund leaves refundedTotalMinor refunded (less than the amount). */
export function paymentStatusAfterRefundReversal(refundedTotalMinor: bigint): PaymentStatus {
  return refundedTotalMinor > 0n ? 'PARTIALLY_REFUNDED' : 'SUCCEEDED';
}
