// Dispute (chargeback) events, produced by the payments subgraph.
import { z } from 'zod';
import { amountMinorSchema, currencySchema, idSchema, positiveAmountMinorSchema, sellerSplitSchema, sumMinor, timestampSchema } from './primitives.js';
import { DISPUTE_FEE_BEARERS, DISPUTE_LOSS_BEARERS } from './policies.js';

const ORDERS_PER_DISPUTE_MAX = 100;

/** Per order: the disputed amount withheld from the seller (pendingMinor + availableMinor) and the seller's share of the dispute fee. */
export const disputeOrderSchema = sellerSplitSchema.extend({ disputeFeeMinor: amountMinorSchema });

function splitsMustAddUp(
  dispute: { amountMinor: bigint; orders: readonly { pendingMinor: bigint; availableMinor: bigint }[] },
  ctx: z.RefinementCtx,
): void {
  const heldMinor = sumMinor(dispute.orders.map((order) => order.pendingMinor + order.availableMinor));
  if (heldMinor !== dispute.amountMinor) {
    ctx.addIssue({ code: 'custom', path: ['orders'], message: 'order splits must add up to amountMinor' });
  }
}

/**
 * dispute.opened@1: the buyer's bank disputed amountMinor. The sellers' shares are withheld into
 * disputes_clearing; the PSP's dispute fee is borne by the platform or the sellers (per order).
 */
export const disputeOpenedV1 = z
  .object({
    disputeId: idSchema,
    paymentId: idSchema,
    pspDisputeId: idSchema,
    currency: currencySchema,
    amountMinor: positiveAmountMinorSchema,
    disputeFeeMinor: amountMinorSchema,
    disputeFeeBorneBy: z.enum(DISPUTE_FEE_BEARERS),
    orders: z.array(disputeOrderSchema).min(1).max(ORDERS_PER_DISPUTE_MAX),
    openedAt: timestampSchema,
  })
  .superRefine((dispute, ctx) => {
    splitsMustAddUp(dispute, ctx);
    const sellerFeeMinor = sumMinor(dispute.orders.map((order) => order.disputeFeeMinor));
    const expectedSellerFeeMinor = dispute.disputeFeeBorneBy === 'seller' ? dispute.disputeFeeMinor : 0n;
    if (sellerFeeMinor !== expectedSellerFeeMinor) {
      ctx.addIssue({ code: 'custom', path: ['orders'], message: 'orders[].disputeFeeMinor must add up to the fee the sellers bear' });
    }
  });
export type DisputeOpenedV1 = z.output<typeof disputeOpenedV1>;

/** dispute.won@1: the withheld amounts go back to the sellers (split as the producer decides now). The dispute fee is not returned. */
export const disputeWonV1 = z
  .object({
    disputeId: idSchema,
    paymentId: idSchema,
    currency: currencySchema,
    amountMinor: positiveAmountMinorSchema,
    orders: z.array(sellerSplitSchema).min(1).max(ORDERS_PER_DISPUTE_MAX),
    wonAt: timestampSchema,
  })
  .superRefine(splitsMustAddUp);
export type DisputeWonV1 = z.output<typeof disputeWonV1>;

/**
 * dispute.lost@1: the disputed amount is gone to the buyer. With lossBorneBy 'seller' the withheld
 * amounts pay for it and orders must be empty; with 'platform' the withheld amounts go back to
 * the sellers (orders split them) and the platform books the loss.
 */
export const disputeLostV1 = z
  .object({
    disputeId: idSchema,
    paymentId: idSchema,
    currency: currencySchema,
    amountMinor: positiveAmountMinorSchema,
    lossBorneBy: z.enum(DISPUTE_LOSS_BEARERS),
    orders: z.array(sellerSplitSchema).max(ORDERS_PER_DISPUTE_MAX),
    lostAt: timestampSchema,
  })
  .superRefine((dispute, ctx) => {
    if (dispute.lossBorneBy === 'platform') splitsMustAddUp(dispute, ctx);
    else if (dispute.orders.length !== 0) {
      ctx.addIssue({ code: 'custom', path: ['orders'], message: 'orders must be empty when the seller bears the loss' });
    }
  });
export type DisputeLostV1 = z.output<typeof disputeLostV1>;
