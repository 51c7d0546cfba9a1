// Payment events, produced by the payments subgraph.
import { z } from 'zod';
import { amountMinorSchema, currencySchema, idSchema, positiveAmountMinorSchema, sumMinor, timestampSchema } from './primitives.js';

const ORDERS_PER_PAYMENT_MAX = 100;

export const paymentSucceededOrderSchema = z.object({
  paymentOrderId: idSchema,
  sellerId: idSchema,
  /** Gross order amount paid by the buyer. */
  amountMinor: positiveAmountMinorSchema,
  /** Platform fee on this order (computeFee: half-up, capped at the amount). */
  feeMinor: amountMinorSchema,
  /** amountMinor - feeMinor: what the seller is owed. */
  netAmountMinor: amountMinorSchema,
});

/** payment.succeeded@1: the buyer's money reached the PSP; each order's net is owed to its seller. */
export const paymentSucceededV1 = z
  .object({
    paymentId: idSchema,
    buyerId: idSchema,
    currency: currencySchema,
    amountMinor: positiveAmountMinorSchema,
    pspPaymentIntentId: idSchema,
    pspChargeId: idSchema.optional(),
    succeededAt: timestampSchema,
    orders: z.array(paymentSucceededOrderSchema).min(1).max(ORDERS_PER_PAYMENT_MAX),
  })
  .superRefine((payment, ctx) => {
    if (sumMinor(payment.orders.map((order) => order.amountMinor)) !== payment.amountMinor) {
      ctx.addIssue({ code: 'custom', path: ['orders'], message: 'order amounts must add up to amountMinor' });
    }
    payment.orders.forEach((order, index) => {
      if (order.feeMinor + order.netAmountMinor !== order.amountMinor) {
        ctx.addIssue({ code: 'custom', path: ['orders', index], message: 'feeMinor + netAmountMinor must equal amountMinor' });
      }
    });
  });
export type PaymentSucceededV1 = z.output<typeof paymentSucceededV1>;

export const PAYMENT_STATUSES = [
  'CREATED',
  'REQUIRES_PAYMENT',
  'REQUIRES_ACTION',
  'PROCESSING',
  'SUCCEEDED',
  'FAILED',
  'CANCELED',
  'PARTIALLY_REFUNDED',
  'REFUNDED',
  'DISPUTED',
] as const;
export const paymentStatusSchema = z.enum(PAYMENT_STATUSES);
export type PaymentStatus = z.output<typeof paymentStatusSchema>;

/** payment.status_changed@1: every status transition, for GraphQL subscriptions and timelines. */
export const paymentStatusChangedV1 = z.object({
  paymentId: idSchema,
  from: paymentStatusSchema,
  to: paymentStatusSchema,
  at: timestampSchema,
  currency: currencySchema,
  refundedAmountMinor: amountMinorSchema,
  sellerIds: z.array(idSchema).max(ORDERS_PER_PAYMENT_MAX),
});
export type PaymentStatusChangedV1 = z.output<typeof paymentStatusChangedV1>;
