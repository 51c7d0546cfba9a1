// Shared by the after-sale use cases: the stored mutation response and the order view the
// domain rules take.
import { DomainError, newEvent, serializeEventPayload, type JsonValue, type OrderDeliveredV1, type UserErrorPayload } from '@clearhouse/shared';
import type { AftersaleOrder } from '../domain/aftersale.js';
import type { PaymentOrderRecord, PaymentRecord, PaymentsTransaction } from './ports.js';

/** What confirmDelivery / refundPaymentOrder store under the idempotency key and replay. */
export interface AftersaleResponse extends Record<string, JsonValue> {
  id: string | null;
  userErrors: JsonValue[];
}

export interface AftersaleResult {
  id: string | null;
  userErrors: UserErrorPayload[];
  replayed: boolean;
}

export function aftersaleResult(response: JsonValue, replayed: boolean): AftersaleResult {
  const stored = response as AftersaleResponse;
  return { id: stored.id ?? null, userErrors: (stored.userErrors ?? []) as unknown as UserErrorPayload[], replayed };
}

export function aftersaleFailure(id: string | null, error: DomainError): AftersaleResponse {
  return { id, userErrors: [error.toUserError() as unknown as JsonValue] };
}

export const ORDER_ID_PATTERN = /^ord_[0-9a-f-]{36}$/;

/**
 * PostgreSQL text cannot hold U+0000: a free-text input with it would fail in the database as an
 * untyped error, after the idempotency key was claimed. Refused up front, before anything is
 * written (the idempotency key itself is checked by runIdempotent).
 */
export function assertNoNulCharacter(value: string, field: string[]): void {
  if (value.includes('\u0000')) throw new DomainError('INVALID_INPUT', `${field.at(-1) ?? 'input'} must not contain NUL characters`, { field });
}

export function orderNotFound(paymentOrderId: string): DomainError {
  return new DomainError('NOT_FOUND', `no payment order ${paymentOrderId}`, { field: ['input', 'paymentOrderId'] });
}

export function asAftersaleOrder(order: PaymentOrderRecord): AftersaleOrder {
  return order;
}

/**
 * Writes order.delivered@1 for a delivered order whose hold has passed: the seller's net still
 * in pending (pendingHeldMinor) becomes available. At most once per order (releasedAt); the
 * ledger's reference order_delivered:<orderId> makes a second movement impossible anyway.
 */
export async function releaseOrder(tx: PaymentsTransaction, payment: PaymentRecord, order: PaymentOrderRecord, at: Date): Promise<boolean> {
  if (order.deliveredAt === null || order.releasedAt !== null) return false;
  const payload: OrderDeliveredV1 = {
    paymentOrderId: order.id,
    paymentId: payment.id,
    sellerId: order.sellerId,
    currency: payment.currency,
    netAmountMinor: order.pendingHeldMinor,
    deliveredAt: order.deliveredAt,
  };
  await tx.writeEvent(newEvent('order.delivered', 1, payment.id, serializeEventPayload('order.delivered@1', payload)));
  await tx.updateOrder(order.id, { pendingHeldMinor: 0n, releasedAt: at });
  await tx.addTimeline({
    paymentId: payment.id,
    at,
    source: 'payments',
    type: 'order.released',
    message: `order ${order.id}: ${order.pendingHeldMinor} ${payment.currency} minor units of the seller's pending balance become available`,
    data: { paymentOrderId: order.id, sellerId: order.sellerId, netAmountMinor: order.pendingHeldMinor.toString() },
  });
  return true;
}
