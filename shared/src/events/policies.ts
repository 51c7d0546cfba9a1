// Money policies shared by the producer of an event (payments) and its consumers (ledger,
// wallet): the producer computes the split with these functions and puts it in the event, so
// every consumer applies the identical numbers and no consumer re-derives them differently.

export const REFUND_FEE_POLICIES = ['platform_keeps_fee', 'platform_returns_fee_pro_rata'] as const;
/**
 * Who bears the platform fee of a refunded order.
 * - platform_keeps_fee: the seller gives back the whole refund; the platform keeps its fee.
 * - platform_returns_fee_pro_rata: the platform returns the refunded share of its fee, so a full
 *   refund returns exactly the order's fee and the seller gives back exactly its net.
 */
export type RefundFeePolicy = (typeof REFUND_FEE_POLICIES)[number];

export const DISPUTE_FEE_BEARERS = ['platform', 'seller'] as const;
/** Who pays the PSP's dispute fee: the platform (psp_fee_expense) or the sellers (split by disputed amount). */
export type DisputeFeeBearer = (typeof DISPUTE_FEE_BEARERS)[number];

export const DISPUTE_LOSS_BEARERS = ['seller', 'platform'] as const;
/** Who bears a lost dispute: the sellers (their withheld funds pay for it) or the platform (chargeback_loss_expense). */
export type DisputeLossBearer = (typeof DISPUTE_LOSS_BEARERS)[number];

export interface RefundableOrder {
  /** Gross order amount. */
  readonly amountMinor: bigint;
  /** Platform fee booked on the order. */
  readonly feeMinor: bigint;
  /** Sum of this order's earlier refunds. */
  readonly refundedBeforeMinor: bigint;
  /** What of this order still sits in the seller's pending balance (0 once delivered). */
  readonly pendingHeldMinor: bigint;
}

export interface RefundPlan {
  /** Platform fee returned (debited from platform_fee_revenue). */
  readonly feeRefundMinor: bigint;
  /** Taken back from the seller's pending balance. */
  readonly pendingMinor: bigint;
  /** Taken back from the seller's available balance (which may go negative). */
  readonly availableMinor: bigint;
}

function requireNonNegative(name: string, amountMinor: bigint): void {
  if (amountMinor < 0n) throw new RangeError(`${name} must be >= 0, got ${amountMinor}`);
}

/**
 * The platform fee returned for one refund. Pro rata rounds the cumulative returned fee down
 * (floor(fee * refundedTotal / amount)) and returns the difference from the earlier refunds, so
 * partial refunds never return more than the fee and a full refund returns exactly the fee.
 */
export function refundFeeReturnMinor(policy: RefundFeePolicy, order: RefundableOrder, refundMinor: bigint): bigint {
  requireNonNegative('order.feeMinor', order.feeMinor);
  requireNonNegative('order.refundedBeforeMinor', order.refundedBeforeMinor);
  if (order.amountMinor <= 0n) throw new RangeError('order.amountMinor must be > 0');
  if (order.feeMinor > order.amountMinor) throw new RangeError('order.feeMinor cannot exceed order.amountMinor');
  if (refundMinor <= 0n) throw new RangeError('refundMinor must be > 0');
  if (order.refundedBeforeMinor + refundMinor > order.amountMinor) {
    throw new RangeError('refunds cannot exceed the order amount');
  }
  if (policy === 'platform_keeps_fee') return 0n;
  const feeRefundMinor = proRataFeeReturnedMinor(order, order.refundedBeforeMinor + refundMinor) - proRataFeeReturnedMinor(order, order.refundedBeforeMinor);
  if (feeRefundMinor < 0n || feeRefundMinor > refundMinor) throw new Error('refund fee return out of range');
  return feeRefundMinor;
}

/** Pro rata: the fee returned in all while refundedMinor of the order stays refunded, floor(fee × refunded / amount); all of it once fully refunded. */
function proRataFeeReturnedMinor(order: Pick<RefundableOrder, 'amountMinor' | 'feeMinor'>, refundedMinor: bigint): bigint {
  return (order.feeMinor * refundedMinor) / order.amountMinor;
}

/**
 * The platform fee taken back when a succeeded refund is reversed (it failed at the PSP later).
 * Pro rata takes back what brings the fee returned down to the share of what stays refunded
 * (refundedMinor, the order's succeeded refunds with this one, minus the refund), which is not
 * always the fee this refund returned: with rounding down, a refund's own share depends on the
 * refunds before it. So the fee returned is always the share of what is refunded, and the refund
 * that completes the order returns exactly the rest. platform_keeps_fee takes back the fee the
 * refund returned (none under that policy).
 */
export function refundReversalFeeMinor(policy: RefundFeePolicy, order: Pick<RefundableOrder, 'amountMinor' | 'feeMinor'>, refundedMinor: bigint, refund: { amountMinor: bigint; feeRefundMinor: bigint }): bigint {
  requireNonNegative('order.feeMinor', order.feeMinor);
  requireNonNegative('refund.feeRefundMinor', refund.feeRefundMinor);
  if (order.amountMinor <= 0n) throw new RangeError('order.amountMinor must be > 0');
  if (order.feeMinor > order.amountMinor) throw new RangeError('order.feeMinor cannot exceed order.amountMinor');
  if (refund.amountMinor <= 0n) throw new RangeError('refund.amountMinor must be > 0');
  if (refund.feeRefundMinor > refund.amountMinor) throw new RangeError('refund.feeRefundMinor cannot exceed refund.amountMinor');
  if (refundedMinor < refund.amountMinor || refundedMinor > order.amountMinor) throw new RangeError('refundedMinor must include the refund and stay within the order amount');
  if (policy === 'platform_keeps_fee') return refund.feeRefundMinor;
  const feeBackMinor = proRataFeeReturnedMinor(order, refundedMinor) - proRataFeeReturnedMinor(order, refundedMinor - refund.amountMinor);
  if (feeBackMinor < 0n || feeBackMinor > refund.amountMinor) throw new Error('refund reversal fee out of range');
  return feeBackMinor;
}

/**
 * Splits a debit from a seller: first from what this order still holds in pending, the rest from
 * available. Available may go negative (a refund or dispute after the money was paid out): the
 * documented choice is that the seller's negative balance is recovered from later sales, since
 * payouts are refused while available is below the payout amount.
 */
export function planSellerDebit(debitMinor: bigint, pendingHeldMinor: bigint): { pendingMinor: bigint; availableMinor: bigint } {
  requireNonNegative('debitMinor', debitMinor);
  requireNonNegative('pendingHeldMinor', pendingHeldMinor);
  const pendingMinor = debitMinor < pendingHeldMinor ? debitMinor : pendingHeldMinor;
  return { pendingMinor, availableMinor: debitMinor - pendingMinor };
}

/** The complete money plan of one refund: fee returned plus the seller's pending/available debit. Parts add up to refundMinor. */
export function planRefund(policy: RefundFeePolicy, order: RefundableOrder, refundMinor: bigint): RefundPlan {
  const feeRefundMinor = refundFeeReturnMinor(policy, order, refundMinor);
  const sellerDebit = planSellerDebit(refundMinor - feeRefundMinor, order.pendingHeldMinor);
  const plan = { feeRefundMinor, ...sellerDebit };
  if (plan.feeRefundMinor + plan.pendingMinor + plan.availableMinor !== refundMinor) throw new Error('refund plan does not add up');
  return plan;
}
