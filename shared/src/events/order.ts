// Payment order events, produced by the payments subgraph.
import { z } from 'zod';
import { amountMinorSchema, currencySchema, idSchema, timestampSchema } from './primitives.js';

/**
 * order.delivered@1: the order's money becomes payable. netAmountMinor is what of this order still
 * sits in the seller's pending balance: the order's net minus the pendingMinor of its refunds and
 * dispute holds so far (zero when it was fully refunded before delivery).
 */
export const orderDeliveredV1 = z.object({
  paymentOrderId: idSchema,
  paymentId: idSchema,
  sellerId: idSchema,
  currency: currencySchema,
  netAmountMinor: amountMinorSchema,
  deliveredAt: timestampSchema,
});
export type OrderDeliveredV1 = z.output<typeof orderDeliveredV1>;
