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
