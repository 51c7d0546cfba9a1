// Rows of the payments database as raw SQL returns them, their explicit column lists, and the
// mapping to the records of application/ports.ts (snake_case → camelCase). Values are guarded
// (BigInt(), Number(), new Date()) because the SqlClient behind the store need not be the shared
// PgDatabase with its type parsers (a Prisma client in some tests; a plain pg pool gives int8 as text).
// Parameters follow the same rule the other raw-SQL stores use: int8 goes out as text with a
// ::bigint cast, timestamps as ISO text with a ::timestamptz cast, JSON as text with ::jsonb.
import type { PaymentOrderStatus, PaymentStatus } from '../domain/payment-status.js';
import type { DisputeOrderRecord, DisputeRecord, PaymentOrderRecord, PaymentRecord, RefundRecord, RefundStatus, TimelineEntry } from '../application/ports.js';

type Int8 = bigint | number | string;
type Timestamp = Date | string;

export const PAYMENT_COLUMNS = `id, status, buyer_id, currency, amount_minor, refunded_amount_minor, checkout_url,
  psp_payment_intent_id, psp_checkout_session_id, psp_registration_round, failure_code, failure_message, return_url,
  metadata, idempotency_caller_id, idempotency_key, created_at, updated_at, version`;

export const ORDER_COLUMNS = `id, payment_id, position, seller_id, reference, amount_minor, fee_minor, net_amount_minor, status,
  refunded_amount_minor, delivered_at, pending_held_minor, reserved_refund_minor, release_due_at, released_at,
  created_at, updated_at`;

export const REFUND_COLUMNS = `id, payment_id, payment_order_id, amount_minor, currency, status, reason, psp_refund_id, psp_round,
  failure_code, fee_refund_minor, pending_minor, available_minor, created_at, updated_at, succeeded_at, failed_at,
  reversal_fee_refund_minor, reversal_pending_minor, reversal_available_minor, next_recheck_at, idempotency_caller_id, idempotency_key`;

export const DISPUTE_COLUMNS = `id, payment_id, psp_dispute_id, currency, amount_minor, dispute_fee_minor, fee_borne_by,
  loss_borne_by, status, status_before, reason, orders, opened_at, closed_at`;

export const TIMELINE_COLUMNS = 'payment_id, at, source, type, message, data';

export interface PaymentRow {
  id: string;
  status: string;
  buyer_id: string;
  currency: string;
  amount_minor: Int8;
  refunded_amount_minor: Int8;
  checkout_url: string | null;
  psp_payment_intent_id: string | null;
  psp_checkout_session_id: string | null;
  psp_registration_round: number;
  failure_code: string | null;
  failure_message: string | null;
  return_url: string | null;
  metadata: unknown;
  idempotency_caller_id: string;
  idempotency_key: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  version: number;
}

export interface OrderRow {
  id: string;
  payment_id: string;
  position: number;
  seller_id: string;
  reference: string | null;
  amount_minor: Int8;
  fee_minor: Int8;
  net_amount_minor: Int8;
  status: string;
  refunded_amount_minor: Int8;
  delivered_at: Timestamp | null;
  pending_held_minor: Int8;
  reserved_refund_minor: Int8;
  release_due_at: Timestamp | null;
  released_at: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface RefundRow {
  id: string;
  payment_id: string;
  payment_order_id: string;
  amount_minor: Int8;
  currency: string;
  status: string;
  reason: string | null;
  psp_refund_id: string | null;
  psp_round: number;
  failure_code: string | null;
  fee_refund_minor: Int8 | null;
  pending_minor: Int8 | null;
  available_minor: Int8 | null;
  created_at: Timestamp;
  updated_at: Timestamp;
  succeeded_at: Timestamp | null;
  failed_at: Timestamp | null;
  reversal_fee_refund_minor: Int8 | null;
  reversal_pending_minor: Int8 | null;
  reversal_available_minor: Int8 | null;
  next_recheck_at: Timestamp | null;
  idempotency_caller_id: string | null;
  idempotency_key: string | null;
}

export interface DisputeRow {
  id: string;
  payment_id: string;
  psp_dispute_id: string;
  currency: string;
  amount_minor: Int8;
  dispute_fee_minor: Int8;
  fee_borne_by: string;
  loss_borne_by: string;
  status: string;
  status_before: string;
  reason: string | null;
  orders: unknown;
  opened_at: Timestamp;
  closed_at: Timestamp | null;
}

export interface TimelineRow {
  payment_id: string;
  at: Timestamp;
  source: string;
  type: string;
  message: string;
  data: unknown;
}

/** How dispute holds are stored in disputes.orders: amounts as decimal strings (JSON has no int64). */
interface DisputeOrderJson {
  paymentOrderId: string;
  sellerId: string;
  pendingMinor: string;
  availableMinor: string;
  disputeFeeMinor: string;
}

function toDate(value: Timestamp): Date {
  return value instanceof Date ? value : new Date(value);
}

function toDateOrNull(value: Timestamp | null): Date | null {
  return value === null ? null : toDate(value);
}

function toBigIntOrNull(value: Int8 | null): bigint | null {
  return value === null ? null : BigInt(value);
}

export function toPayment(row: PaymentRow): PaymentRecord {
  return {
    id: row.id,
    status: row.status as PaymentStatus,
    buyerId: row.buyer_id,
    currency: row.currency,
    amountMinor: BigInt(row.amount_minor),
    refundedAmountMinor: BigInt(row.refunded_amount_minor),
    checkoutUrl: row.checkout_url,
    pspPaymentIntentId: row.psp_payment_intent_id,
    pspCheckoutSessionId: row.psp_checkout_session_id,
    pspRegistrationRound: Number(row.psp_registration_round),
    failureCode: row.failure_code,
    failureMessage: row.failure_message,
    returnUrl: row.return_url,
    metadata: row.metadata ?? null,
    idempotencyCallerId: row.idempotency_caller_id,
    idempotencyKey: row.idempotency_key,
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    version: Number(row.version),
  };
}

export function toOrder(row: OrderRow): PaymentOrderRecord {
  return {
    id: row.id,
    paymentId: row.payment_id,
    position: Number(row.position),
    sellerId: row.seller_id,
    reference: row.reference,
    amountMinor: BigInt(row.amount_minor),
    feeMinor: BigInt(row.fee_minor),
    netAmountMinor: BigInt(row.net_amount_minor),
    status: row.status as PaymentOrderStatus,
    refundedAmountMinor: BigInt(row.refunded_amount_minor),
    deliveredAt: toDateOrNull(row.delivered_at),
    pendingHeldMinor: BigInt(row.pending_held_minor),
    reservedRefundMinor: BigInt(row.reserved_refund_minor),
    releaseDueAt: toDateOrNull(row.release_due_at),
    releasedAt: toDateOrNull(row.released_at),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

/** Orders by position: UPDATE ... RETURNING does not keep any order. */
export function byPosition(orders: PaymentOrderRecord[]): PaymentOrderRecord[] {
  return orders.sort((a, b) => a.position - b.position);
}

export function toRefund(row: RefundRow): RefundRecord {
  return {
    id: row.id,
    paymentId: row.payment_id,
    paymentOrderId: row.payment_order_id,
    amountMinor: BigInt(row.amount_minor),
    currency: row.currency,
    status: row.status as RefundStatus,
    reason: row.reason,
    pspRefundId: row.psp_refund_id,
    pspRound: Number(row.psp_round),
    failureCode: row.failure_code,
    feeRefundMinor: toBigIntOrNull(row.fee_refund_minor),
    pendingMinor: toBigIntOrNull(row.pending_minor),
    availableMinor: toBigIntOrNull(row.available_minor),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
    succeededAt: toDateOrNull(row.succeeded_at),
    failedAt: toDateOrNull(row.failed_at),
    reversalFeeRefundMinor: toBigIntOrNull(row.reversal_fee_refund_minor),
    reversalPendingMinor: toBigIntOrNull(row.reversal_pending_minor),
    reversalAvailableMinor: toBigIntOrNull(row.reversal_available_minor),
    nextRecheckAt: toDateOrNull(row.next_recheck_at),
    idempotencyCallerId: row.idempotency_caller_id,
    idempotencyKey: row.idempotency_key,
  };
}

function toDisputeOrder(order: DisputeOrderJson): DisputeOrderRecord {
  return {
    paymentOrderId: order.paymentOrderId,
    sellerId: order.sellerId,
    pendingMinor: BigInt(order.pendingMinor),
    availableMinor: BigInt(order.availableMinor),
    disputeFeeMinor: BigInt(order.disputeFeeMinor),
  };
}

export function toDispute(row: DisputeRow): DisputeRecord {
  const orders = row.orders as DisputeOrderJson[];
  return {
    id: row.id,
    paymentId: row.payment_id,
    pspDisputeId: row.psp_dispute_id,
    currency: row.currency,
    amountMinor: BigInt(row.amount_minor),
    disputeFeeMinor: BigInt(row.dispute_fee_minor),
    feeBorneBy: row.fee_borne_by as DisputeRecord['feeBorneBy'],
    lossBorneBy: row.loss_borne_by as DisputeRecord['lossBorneBy'],
    status: row.status as DisputeRecord['status'],
    statusBefore: row.status_before as PaymentStatus,
    reason: row.reason,
    orders: orders.map(toDisputeOrder),
    openedAt: toDate(row.opened_at),
    closedAt: toDateOrNull(row.closed_at),
  };
}

export function disputeOrdersJson(orders: readonly DisputeOrderRecord[]): string {
  const stored: DisputeOrderJson[] = orders.map((order) => ({
    paymentOrderId: order.paymentOrderId,
    sellerId: order.sellerId,
    pendingMinor: order.pendingMinor.toString(),
    availableMinor: order.availableMinor.toString(),
    disputeFeeMinor: order.disputeFeeMinor.toString(),
  }));
  return JSON.stringify(stored);
}

export function toTimeline(row: TimelineRow): TimelineEntry {
  return { paymentId: row.payment_id, at: toDate(row.at), source: row.source, type: row.type, message: row.message, data: (row.data ?? null) as Record<string, unknown> | null };
}

/** A nullable JSON column's parameter: SQL NULL for null/undefined (never the JSON value null). */
export function jsonParam(value: unknown): string | null {
  return value === null || value === undefined ? null : JSON.stringify(value);
}

/** A query parameter: int8 and timestamps as text (cast in the statement), the rest as is. */
export function sqlParam(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  return value;
}

export type SqlType = 'text' | 'bigint' | 'timestamptz';

/** A patch key's column and the type its parameter is cast to. */
export type PatchColumns<P> = { readonly [K in keyof Required<P>]: readonly [column: string, type: SqlType] };

export interface SetList {
  /** `column = $n::type` for every key of the patch whose value is not undefined. */
  assignments: string[];
  values: unknown[];
}

/**
 * The SET list of a partial update, parameters numbered from `firstParam`. Keys left undefined
 * are not written (as Prisma's `data` did); column names come from the fixed map, never the patch.
 */
export function setList<P extends object>(patch: P, columns: PatchColumns<P>, firstParam: number): SetList {
  const assignments: string[] = [];
  const values: unknown[] = [];
  for (const key of Object.keys(columns) as (keyof P & string)[]) {
    const value = patch[key];
    if (value === undefined) continue;
    const [column, type] = columns[key];
    values.push(sqlParam(value));
    assignments.push(`${column} = $${firstParam + values.length - 1}::${type}`);
  }
  return { assignments, values };
}
