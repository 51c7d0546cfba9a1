// Posting rules for money coming in and going back to buyers: payment succeeded, order
// delivered, refund succeeded, and its reversal when the refund fails at the PSP later. Inputs are the parsed event payloads (shared/events).
import type { OrderDeliveredV1, PaymentSucceededV1, RefundReversedV1, RefundSucceededV1 } from '@clearhouse/shared';
import { platformFeeRevenue, pspReceivable, sellerAvailable, sellerPending } from './accounts.js';
import { ruleFailure } from './errors.js';
import { EntryList, requireCurrency, requireNonNegative, requirePositive, requireValidDate, runRule } from './rule-kit.js';
import type { PostingContext, PostingResult } from './types.js';

/**
 * payment.succeeded: DR psp_receivable total; CR seller_pending:<seller> each order's net;
 * CR platform_fee_revenue each order's fee. The fees were computed per order by the producer
 * (computeFee: half-up, capped at the amount); here we check every order's fee + net = amount
 * and the orders add up to the total, so no rounding can create or lose a minor unit.
 */
export function postPaymentSucceeded(payment: PaymentSucceededV1, context: PostingContext = {}): PostingResult {
  return runRule(() => {
    requireCurrency(payment.currency);
    requirePositive(payment.amountMinor, 'amountMinor');
    requireValidDate(payment.succeededAt, 'succeededAt');
    if (payment.orders.length === 0) ruleFailure('SPLIT_MISMATCH', 'a payment has at least one order', 'orders');
    const entries = new EntryList().debit(pspReceivable(), payment.currency, payment.amountMinor, 'amountMinor');
    let ordersTotalMinor = 0n;
    let feesTotalMinor = 0n;
    for (const [index, order] of payment.orders.entries()) {
      const field = `orders.${index}`;
      requirePositive(order.amountMinor, `${field}.amountMinor`);
      requireNonNegative(order.feeMinor, `${field}.feeMinor`);
      requireNonNegative(order.netAmountMinor, `${field}.netAmountMinor`);
      if (order.feeMinor + order.netAmountMinor !== order.amountMinor) {
        ruleFailure('SPLIT_MISMATCH', `${field}: feeMinor + netAmountMinor must equal amountMinor`, field);
      }
      entries.credit(sellerPending(order.sellerId), payment.currency, order.netAmountMinor, `${field}.netAmountMinor`);
      ordersTotalMinor += order.amountMinor;
      feesTotalMinor += order.feeMinor;
    }
    if (ordersTotalMinor !== payment.amountMinor) {
      ruleFailure('SPLIT_MISMATCH', `orders add up to ${ordersTotalMinor}, payment is ${payment.amountMinor}`, 'orders');
    }
    entries.credit(platformFeeRevenue(), payment.currency, feesTotalMinor, 'orders.feeMinor');
    return {
      reference: `payment_succeeded:${payment.paymentId}`,
      kind: 'payment_succeeded',
      effectiveAt: payment.succeededAt,
      correlationId: payment.paymentId,
      ...causation(context),
      metadata: {
        paymentId: payment.paymentId,
        buyerId: payment.buyerId,
        pspPaymentIntentId: payment.pspPaymentIntentId,
        pspChargeId: payment.pspChargeId ?? null,
        platformFeeMinor: feesTotalMinor.toString(),
        orderCount: payment.orders.length,
      },
      entries: entries.toArray(),
    };
  });
}

/** order.delivered: moves what the order still holds in pending to available. Nothing to post when it is zero. */
export function postOrderDelivered(delivery: OrderDeliveredV1, context: PostingContext = {}): PostingResult {
  return runRule(() => {
    requireCurrency(delivery.currency);
    requireNonNegative(delivery.netAmountMinor, 'netAmountMinor');
    requireValidDate(delivery.deliveredAt, 'deliveredAt');
    if (delivery.netAmountMinor === 0n) return { nothingToPost: 'the order holds nothing in pending (fully refunded or withheld)' };
    const entries = new EntryList()
      .debit(sellerPending(delivery.sellerId), delivery.currency, delivery.netAmountMinor, 'netAmountMinor')
      .credit(sellerAvailable(delivery.sellerId), delivery.currency, delivery.netAmountMinor, 'netAmountMinor');
    return {
      reference: `order_delivered:${delivery.paymentOrderId}`,
      kind: 'order_delivered',
      effectiveAt: delivery.deliveredAt,
      correlationId: delivery.paymentId,
      ...causation(context),
      metadata: { paymentId: delivery.paymentId, paymentOrderId: delivery.paymentOrderId, sellerId: delivery.sellerId },
      entries: entries.toArray(),
    };
  });
}

/**
 * refund.succeeded: CR psp_receivable the refund (the PSP sent it back to the buyer);
 * DR platform_fee_revenue the fee returned per the refund fee policy; DR seller_pending and
 * DR seller_available the seller's part as split by the producer (planRefund: pending first,
 * then available, which may go negative and is recovered from later sales).
 * Parts: feeRefundMinor + pendingMinor + availableMinor = amountMinor.
 */
export function postRefundSucceeded(refund: RefundSucceededV1, context: PostingContext = {}): PostingResult {
  return runRule(() => {
    requireCurrency(refund.currency);
    requirePositive(refund.amountMinor, 'amountMinor');
    requireNonNegative(refund.feeRefundMinor, 'feeRefundMinor');
    requireNonNegative(refund.pendingMinor, 'pendingMinor');
    requireNonNegative(refund.availableMinor, 'availableMinor');
    requireValidDate(refund.refundedAt, 'refundedAt');
    if (refund.feePolicy === 'platform_keeps_fee' && refund.feeRefundMinor !== 0n) {
      ruleFailure('SPLIT_MISMATCH', 'platform_keeps_fee returns no fee', 'feeRefundMinor');
    }
    if (refund.feeRefundMinor + refund.pendingMinor + refund.availableMinor !== refund.amountMinor) {
      ruleFailure('SPLIT_MISMATCH', 'feeRefundMinor + pendingMinor + availableMinor must equal amountMinor', 'amountMinor');
    }
    const entries = new EntryList()
      .debit(sellerPending(refund.sellerId), refund.currency, refund.pendingMinor, 'pendingMinor')
      .debit(sellerAvailable(refund.sellerId), refund.currency, refund.availableMinor, 'availableMinor')
      .debit(platformFeeRevenue(), refund.currency, refund.feeRefundMinor, 'feeRefundMinor')
      .credit(pspReceivable(), refund.currency, refund.amountMinor, 'amountMinor');
    return {
      reference: `refund_succeeded:${refund.refundId}`,
      kind: 'refund_succeeded',
      effectiveAt: refund.refundedAt,
      correlationId: refund.paymentId,
      ...causation(context),
      metadata: {
        refundId: refund.refundId,
        paymentId: refund.paymentId,
        paymentOrderId: refund.paymentOrderId,
        sellerId: refund.sellerId,
        pspRefundId: refund.pspRefundId,
        feePolicy: refund.feePolicy,
        feeRefundMinor: refund.feeRefundMinor.toString(),
      },
      entries: entries.toArray(),
    };
  });
}

/**
 * refund.reversed: the refund failed at the PSP after it had succeeded, the PSP holds the money
 * again. Reverses refund_succeeded:<refundId> (linked by reversesReference): DR psp_receivable
 * the refund; CR platform_fee_revenue the fee the producer takes back; CR seller_pending /
 * seller_available the seller's part as the producer splits it back (as taken, or all to
 * available once the order was released). It is the exact mirror unless the order was delivered
 * in between, or, under platform_returns_fee_pro_rata, the fee share moved by one minor unit
 * (the fee returned stays the share of what remains refunded).
 * Parts: feeRefundMinor + pendingMinor + availableMinor = amountMinor.
 */
export function postRefundReversed(reversal: RefundReversedV1, context: PostingContext = {}): PostingResult {
  return runRule(() => {
    requireCurrency(reversal.currency);
    requirePositive(reversal.amountMinor, 'amountMinor');
    requireNonNegative(reversal.feeRefundMinor, 'feeRefundMinor');
    requireNonNegative(reversal.pendingMinor, 'pendingMinor');
    requireNonNegative(reversal.availableMinor, 'availableMinor');
    requireValidDate(reversal.reversedAt, 'reversedAt');
    if (reversal.feeRefundMinor + reversal.pendingMinor + reversal.availableMinor !== reversal.amountMinor) {
      ruleFailure('SPLIT_MISMATCH', 'feeRefundMinor + pendingMinor + availableMinor must equal amountMinor', 'amountMinor');
    }
    const entries = new EntryList()
      .debit(pspReceivable(), reversal.currency, reversal.amountMinor, 'amountMinor')
      .credit(sellerPending(reversal.sellerId), reversal.currency, reversal.pendingMinor, 'pendingMinor')
      .credit(sellerAvailable(reversal.sellerId), reversal.currency, reversal.availableMinor, 'availableMinor')
      .credit(platformFeeRevenue(), reversal.currency, reversal.feeRefundMinor, 'feeRefundMinor');
    return {
      reference: `refund_reversed:${reversal.refundId}`,
      kind: 'refund_reversed',
      effectiveAt: reversal.reversedAt,
      correlationId: reversal.paymentId,
      ...causation(context),
      reversesReference: `refund_succeeded:${reversal.refundId}`,
      metadata: {
        refundId: reversal.refundId,
        paymentId: reversal.paymentId,
        paymentOrderId: reversal.paymentOrderId,
        sellerId: reversal.sellerId,
        pspRefundId: reversal.pspRefundId,
        failureReason: reversal.failureReason,
        feeRefundMinor: reversal.feeRefundMinor.toString(),
      },
      entries: entries.toArray(),
    };
  });
}

export function causation(context: PostingContext): { causationEventId?: string } {
  return context.causationEventId === undefined ? {} : { causationEventId: context.causationEventId };
}
