// Refund events, produced by the payments subgraph.
import { z } from 'zod';
import { amountMinorSchema, currencySchema, idSchema, positiveAmountMinorSchema, timestampSchema } from './primitives.js';
import { REFUND_FEE_POLICIES } from './policies.js';

/**
 * refund.succeeded@1: amountMinor went back to the buyer for one payment order. The seller gives
 * back amountMinor - feeRefundMinor, split between pending and available (pendingMinor +
 * availableMinor); the platform returns feeRefundMinor of its fee, per feePolicy.
 */
export const refundSucceededV1 = z
  .object({
    refundId: idSchema,
    paymentId: idSchema,
    paymentOrderId: idSchema,
    sellerId: idSchema,
    currency: currencySchema,
    amountMinor: positiveAmountMinorSchema,
    feePolicy: z.enum(REFUND_FEE_POLICIES),
    feeRefundMinor: amountMinorSchema,
    pendingMinor: amountMinorSchema,
    availableMinor: amountMinorSchema,
    pspRefundId: idSchema,
    refundedAt: timestampSchema,
  })
  .superRefine((refund, ctx) => {
    if (refund.feeRefundMinor > refund.amountMinor) {
      ctx.addIssue({ code: 'custom', path: ['feeRefundMinor'], message: 'feeRefundMinor cannot exceed amountMinor' });
    }
    if (refund.pendingMinor + refund.availableMinor + refund.feeRefundMinor !== refund.amountMinor) {
      ctx.addIssue({ code: 'custom', path: ['pendingMinor'], message: 'pendingMinor + availableMinor + feeRefundMinor must equal amountMinor' });
    }
  });
export type RefundSucceededV1 = z.output<typeof refundSucceededV1>;

/**
 * refund.reversed@1: a refund announced by refund.succeeded@1 failed later at the PSP (the card
 * issuer rejected it; the PSP holds the money again). It undoes that refund: the platform takes
 * back feeRefundMinor of its fee, the seller gets back pendingMinor + availableMinor. The split
 * is the refund's own, except that what it took from pending goes back to available once the
 * order was released (its order.delivered@1 moved the pending balance), and that pro rata takes
 * back the fee that leaves the share of what stays refunded returned (refundReversalFeeMinor), a
 * unit more or less than the refund returned when an earlier refund is reversed. The ledger reverses the
 * posting `refund_succeeded:<refundId>`. Parts: feeRefundMinor + pendingMinor + availableMinor = amountMinor.
 */
export const refundReversedV1 = z
  .object({
    refundId: idSchema,
    paymentId: idSchema,
    paymentOrderId: idSchema,
    sellerId: idSchema,
    currency: currencySchema,
    amountMinor: positiveAmountMinorSchema,
    feeRefundMinor: amountMinorSchema,
    pendingMinor: amountMinorSchema,
    availableMinor: amountMinorSchema,
    pspRefundId: idSchema,
    /** The PSP's failure_reason (e.g. expired_or_canceled_card). */
    failureReason: z.string().min(1).max(200),
    reversedAt: timestampSchema,
  })
  .superRefine((reversal, ctx) => {
    if (reversal.pendingMinor + reversal.availableMinor + reversal.feeRefundMinor !== reversal.amountMinor) {
      ctx.addIssue({ code: 'custom', path: ['pendingMinor'], message: 'pendingMinor + availableMinor + feeRefundMinor must equal amountMinor' });
    }
  });
export type RefundReversedV1 = z.output<typeof refundReversedV1>;
