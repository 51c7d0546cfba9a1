// confirmDelivery, refundPaymentOrder and the Refund type. Thin: the rules live in application/.
import { moneyToGraphQL, toPayloadErrors } from '@clearhouse/shared';
import type { AftersaleResult } from '../../application/aftersale-common.js';
import { confirmDelivery } from '../../application/delivery.js';
import type { PaymentOrderRecord, RefundRecord } from '../../application/ports.js';
import { canSeeOrder } from '../../application/queries.js';
import { refundPaymentOrder } from '../../application/refunds.js';
import type { PaymentsContext } from '../context.js';

async function loadVisibleOrder(context: PaymentsContext, id: string): Promise<PaymentOrderRecord | null> {
  const order = await context.loaders.order.load(id);
  return order && canSeeOrder(context.caller, order) ? order : null;
}

async function loadVisibleRefund(context: PaymentsContext, id: string): Promise<RefundRecord | null> {
  const [refund] = await context.deps.store.findRefunds([id]);
  if (!refund) return null;
  return (await loadVisibleOrder(context, refund.paymentOrderId)) ? refund : null;
}

async function run(context: PaymentsContext, execute: () => Promise<AftersaleResult>): Promise<{ id: string | null; userErrors: AftersaleResult['userErrors']; replayed: boolean }> {
  try {
    return await execute();
  } catch (error) {
    return { id: null, userErrors: toPayloadErrors(error, context.logger), replayed: false };
  }
}

export async function confirmDeliveryResolver(_: unknown, args: { input: { idempotencyKey: string; paymentOrderId: string } }, context: PaymentsContext) {
  const result = await run(context, () => confirmDelivery(context.deps, context.caller, args.input));
  const paymentOrder = result.id && result.userErrors.length === 0 ? (await context.deps.store.findOrders([result.id]))[0] ?? null : null;
  return { paymentOrder, userErrors: result.userErrors, replayed: result.replayed };
}

export async function refundPaymentOrderResolver(
  _: unknown,
  args: { input: { idempotencyKey: string; paymentOrderId: string; amountMinor?: bigint | null; reason?: string | null } },
  context: PaymentsContext,
) {
  const result = await run(context, () => refundPaymentOrder(context.deps, context.caller, args.input));
  const refund = result.id ? (await context.deps.store.findRefunds([result.id]))[0] ?? null : null;
  return { refund, userErrors: result.userErrors, replayed: result.replayed };
}

export const Refund = {
  __resolveReference: (reference: { id: string }, context: PaymentsContext) => loadVisibleRefund(context, reference.id),
  paymentOrder: async (refund: RefundRecord, _: unknown, context: PaymentsContext) => {
    const order = await context.loaders.order.load(refund.paymentOrderId);
    if (!order) throw new Error(`refund ${refund.id} without order`);
    return order;
  },
  amount: (refund: RefundRecord) => moneyToGraphQL({ amountMinor: refund.amountMinor, currency: refund.currency }),
};

/** PaymentOrder.refunds: oldest first. */
export async function orderRefunds(order: PaymentOrderRecord, _: unknown, context: PaymentsContext): Promise<RefundRecord[]> {
  return context.deps.store.refundsOfOrders([order.id]);
}
