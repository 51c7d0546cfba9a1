// Payment and PaymentOrder: queries, fields and federation references. Thin: access rules live
// in application/queries.ts.
import { GraphQLError } from 'graphql';
import { forbidden, isDomainError, moneyToGraphQL } from '@clearhouse/shared';
import type { PaymentOrderRecord, PaymentRecord } from '../../application/ports.js';
import { canSeeOrder, canSeePayment, encodeCursor, listPayments, visibleOrders, visibleTimeline } from '../../application/queries.js';
import type { PaymentStatus } from '../../domain/payment-status.js';
import type { PaymentsContext } from '../context.js';

/** A payment the caller may see, or null (another seller's payment looks like a missing one). */
export async function loadVisiblePayment(context: PaymentsContext, id: string): Promise<PaymentRecord | null> {
  const payment = await context.loaders.payment.load(id);
  if (!payment) return null;
  const orders = await context.loaders.ordersByPayment.load(id);
  return canSeePayment(context.caller, orders) ? payment : null;
}

async function loadVisibleOrder(context: PaymentsContext, id: string): Promise<PaymentOrderRecord | null> {
  const order = await context.loaders.order.load(id);
  return order && canSeeOrder(context.caller, order) ? order : null;
}

async function currencyOf(context: PaymentsContext, order: PaymentOrderRecord): Promise<string> {
  const payment = await context.loaders.payment.load(order.paymentId);
  if (!payment) throw new Error(`order ${order.id} without payment`);
  return payment.currency;
}

function toGraphQLError(error: unknown): unknown {
  if (!isDomainError(error)) return error;
  if (error.code === 'FORBIDDEN') return forbidden(error.message);
  return new GraphQLError(error.message, { extensions: { code: 'BAD_USER_INPUT', userErrorCode: error.code, field: error.field } });
}

export const paymentQueries = {
  payment: (_: unknown, args: { id: string }, context: PaymentsContext) => loadVisiblePayment(context, args.id),
  paymentOrder: (_: unknown, args: { id: string }, context: PaymentsContext) => loadVisibleOrder(context, args.id),
  async payments(_: unknown, args: { first?: number | null; after?: string | null; status?: PaymentStatus | null; sellerId?: string | null }, context: PaymentsContext) {
    try {
      const page = await listPayments(context.deps.store, context.caller, args);
      const edges = page.payments.map((payment) => ({ cursor: encodeCursor(payment), node: payment }));
      return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges.at(-1)?.cursor ?? null } };
    } catch (error) {
      throw toGraphQLError(error);
    }
  },
};

export const Payment = {
  __resolveReference: (reference: { id: string }, context: PaymentsContext) => loadVisiblePayment(context, reference.id),
  amount: (payment: PaymentRecord) => moneyToGraphQL({ amountMinor: payment.amountMinor, currency: payment.currency }),
  refundedAmount: (payment: PaymentRecord) => moneyToGraphQL({ amountMinor: payment.refundedAmountMinor, currency: payment.currency }),
  pspPaymentId: (payment: PaymentRecord) => payment.pspPaymentIntentId,
  orders: async (payment: PaymentRecord, _: unknown, context: PaymentsContext) => visibleOrders(context.caller, await context.loaders.ordersByPayment.load(payment.id)),
  timeline: async (payment: PaymentRecord, _: unknown, context: PaymentsContext) => visibleTimeline(context.caller, await context.deps.store.timelineOf(payment.id)),
};

export const PaymentOrder = {
  __resolveReference: (reference: { id: string }, context: PaymentsContext) => loadVisibleOrder(context, reference.id),
  payment: async (order: PaymentOrderRecord, _: unknown, context: PaymentsContext) => {
    const payment = await context.loaders.payment.load(order.paymentId);
    if (!payment) throw new Error(`order ${order.id} without payment`);
    return payment;
  },
  seller: (order: PaymentOrderRecord) => ({ __typename: 'Seller', id: order.sellerId }),
  amount: async (order: PaymentOrderRecord, _: unknown, context: PaymentsContext) => moneyToGraphQL({ amountMinor: order.amountMinor, currency: await currencyOf(context, order) }),
  fee: async (order: PaymentOrderRecord, _: unknown, context: PaymentsContext) => moneyToGraphQL({ amountMinor: order.feeMinor, currency: await currencyOf(context, order) }),
  netAmount: async (order: PaymentOrderRecord, _: unknown, context: PaymentsContext) => moneyToGraphQL({ amountMinor: order.netAmountMinor, currency: await currencyOf(context, order) }),
  refundedAmount: async (order: PaymentOrderRecord, _: unknown, context: PaymentsContext) =>
    moneyToGraphQL({ amountMinor: order.refundedAmountMinor, currency: await currencyOf(context, order) }),
};
