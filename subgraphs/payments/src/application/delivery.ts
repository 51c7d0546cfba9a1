// confirmDelivery: a SUCCEEDED (or partially refunded) order becomes DELIVERED. The seller's net
// still pending becomes payable (order.delivered@1) at once when DELIVERY_HOLD_MS is 0, else by
// the release job once the hold has passed. Confirming again is a stated no-op.
import { DomainError, runIdempotent, type Caller } from '@clearhouse/shared';
import { decideDelivery } from '../domain/aftersale.js';
import { nextOrderStatus } from '../domain/order-status.js';
import { aftersaleFailure, aftersaleResult, asAftersaleOrder, ORDER_ID_PATTERN, orderNotFound, releaseOrder, type AftersaleResponse, type AftersaleResult } from './aftersale-common.js';
import type { PaymentsDeps } from './deps.js';

export const CONFIRM_DELIVERY_OPERATION = 'confirmDelivery';
const DELIVERY_LOCK_TTL_MS = 30_000;

async function confirmOnce(deps: PaymentsDeps, paymentOrderId: string): Promise<{ response: AftersaleResponse; wroteEvents: boolean }> {
  const [found] = await deps.store.findOrders([paymentOrderId]);
  if (!found) return { response: aftersaleFailure(null, orderNotFound(paymentOrderId)), wroteEvents: false };
  return deps.store.transaction(async (tx) => {
    const payment = await tx.lockPayment(found.paymentId);
    const order = (await tx.ordersOf(found.paymentId)).find((candidate) => candidate.id === paymentOrderId);
    if (!payment || !order) return { response: aftersaleFailure(null, orderNotFound(paymentOrderId)), wroteEvents: false };
    const decision = decideDelivery(payment.status, asAftersaleOrder(order));
    if (decision.kind === 'already_delivered') {
      deps.logger.info({ paymentOrderId, deliveredAt: order.deliveredAt }, 'confirmDelivery: already delivered; nothing to do');
      return { response: { id: order.id, userErrors: [] }, wroteEvents: false };
    }
    if (decision.kind === 'invalid_state') {
      return { response: aftersaleFailure(order.id, new DomainError('INVALID_STATE', decision.message, { field: ['input', 'paymentOrderId'] })), wroteEvents: false };
    }
    const at = new Date();
    const releaseDueAt = new Date(at.getTime() + deps.aftersale.deliveryHoldMs);
    await tx.updateOrder(order.id, { status: nextOrderStatus(order.status, 'DELIVERED'), deliveredAt: at, releaseDueAt });
    await tx.addTimeline({
      paymentId: payment.id,
      at,
      source: 'payments',
      type: 'order.delivered',
      message: `order ${order.id} delivered; payable ${deps.aftersale.deliveryHoldMs === 0 ? 'now' : `from ${releaseDueAt.toISOString()}`}`,
      data: { paymentOrderId: order.id, releaseDueAt: releaseDueAt.toISOString() },
    });
    let wroteEvents = false;
    if (deps.aftersale.deliveryHoldMs === 0) wroteEvents = await releaseOrder(tx, payment, { ...order, deliveredAt: at, releaseDueAt }, at);
    return { response: { id: order.id, userErrors: [] }, wroteEvents };
  });
}

export async function confirmDelivery(deps: PaymentsDeps, caller: Caller, input: { idempotencyKey: string; paymentOrderId: string }): Promise<AftersaleResult> {
  if (caller.role !== 'platform') throw new DomainError('FORBIDDEN', 'only the platform role may confirm deliveries');
  if (!ORDER_ID_PATTERN.test(input.paymentOrderId)) throw orderNotFound(input.paymentOrderId);
  const { response, replayed } = await runIdempotent({
    db: deps.sql,
    callerId: caller.keyId,
    key: input.idempotencyKey,
    operation: CONFIRM_DELIVERY_OPERATION,
    request: { paymentOrderId: input.paymentOrderId },
    lockTtlMs: DELIVERY_LOCK_TTL_MS,
    execute: async () => {
      const outcome = await confirmOnce(deps, input.paymentOrderId);
      if (outcome.wroteEvents) deps.onOutboxWritten();
      return { response: outcome.response };
    },
  });
  return aftersaleResult(response, replayed);
}

/** The release job: delivered orders whose hold has passed get their order.delivered@1 (bounded batch). */
export async function releaseDueOrders(deps: PaymentsDeps, batchSize: number): Promise<number> {
  const due = await deps.store.dueReleaseOrderIds(batchSize);
  let released = 0;
  for (const { orderId, paymentId } of due) {
    const done = await deps.store.transaction(async (tx) => {
      const payment = await tx.lockPayment(paymentId);
      const order = (await tx.ordersOf(paymentId)).find((candidate) => candidate.id === orderId);
      if (!payment || !order || order.releaseDueAt === null || order.releaseDueAt.getTime() > Date.now()) return false;
      return releaseOrder(tx, payment, order, new Date());
    });
    if (done) released += 1;
  }
  if (released > 0) {
    deps.onOutboxWritten();
    deps.logger.info({ released }, 'delivered orders released to the sellers\' available balances');
  }
  return released;
}
