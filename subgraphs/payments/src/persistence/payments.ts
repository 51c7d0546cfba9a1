// Raw-SQL implementation of the payments store (application/ports.ts) on node-postgres: every
// statement goes through the kit's structural TransactionalDb / SqlClient (in the service the
// shared PgDatabase, db/pg-database.ts). It replaced the Prisma Client store because Prisma's query
// engine cost more CPU per checkout than the SQL itself (BENCHMARKS.md). Parameterized statements
// with explicit column lists only; rows are mapped in payment-rows.ts. Round trips are kept low
// where it is free: a locked read is one SELECT ... FOR UPDATE, inserts and status changes of
// orders RETURN the rows the caller needs next, the re-check claims are one UPDATE (refunds) or one
// locked SELECT plus one UPDATE (payments, whose next re-check depends on each row).
import { randomUUID } from 'node:crypto';
import { writeOutbox, type SqlClient, type TransactionalDb, type TransactionOptions } from '@clearhouse/shared';
import type { PaymentOrderStatus } from '../domain/payment-status.js';
import type {
  DisputeRecord,
  NewPayment,
  OrderPatch,
  PaymentListFilter,
  PaymentOrderRecord,
  PaymentPatch,
  PaymentRecord,
  PaymentsStore,
  PaymentsTransaction,
  RefundPatch,
  RefundRecord,
  StoredPayment,
  TimelineEntry,
} from '../application/ports.js';
import {
  byPosition,
  DISPUTE_COLUMNS,
  disputeOrdersJson,
  jsonParam,
  ORDER_COLUMNS,
  PAYMENT_COLUMNS,
  REFUND_COLUMNS,
  setList,
  sqlParam,
  TIMELINE_COLUMNS,
  toDispute,
  toOrder,
  toPayment,
  toRefund,
  toTimeline,
  type DisputeRow,
  type OrderRow,
  type PatchColumns,
  type PaymentRow,
  type RefundRow,
  type TimelineRow,
} from './payment-rows.js';

const TRANSACTION_OPTIONS: TransactionOptions = { timeout: 15_000, maxWait: 10_000 };
const TIMELINE_PER_PAYMENT_MAX = 1_000;
const IDS_PER_QUERY_MAX = 1_000;
const REFUNDS_PER_QUERY_MAX = 10_000;

export class StaleVersionError extends Error {
  override readonly name = 'StaleVersionError';
}

type NewRefund = Parameters<PaymentsTransaction['insertRefund']>[0];
type DisputePatch = Parameters<PaymentsTransaction['updateDispute']>[1];

const PAYMENT_PATCH_COLUMNS: PatchColumns<PaymentPatch> = {
  status: ['status', 'text'],
  refundedAmountMinor: ['refunded_amount_minor', 'bigint'],
  checkoutUrl: ['checkout_url', 'text'],
  pspPaymentIntentId: ['psp_payment_intent_id', 'text'],
  pspCheckoutSessionId: ['psp_checkout_session_id', 'text'],
  failureCode: ['failure_code', 'text'],
  failureMessage: ['failure_message', 'text'],
  nextRecheckAt: ['next_recheck_at', 'timestamptz'],
};

const ORDER_PATCH_COLUMNS: PatchColumns<OrderPatch> = {
  status: ['status', 'text'],
  deliveredAt: ['delivered_at', 'timestamptz'],
  pendingHeldMinor: ['pending_held_minor', 'bigint'],
  reservedRefundMinor: ['reserved_refund_minor', 'bigint'],
  refundedAmountMinor: ['refunded_amount_minor', 'bigint'],
  releaseDueAt: ['release_due_at', 'timestamptz'],
  releasedAt: ['released_at', 'timestamptz'],
};

const REFUND_PATCH_COLUMNS: PatchColumns<RefundPatch> = {
  status: ['status', 'text'],
  pspRefundId: ['psp_refund_id', 'text'],
  failureCode: ['failure_code', 'text'],
  feeRefundMinor: ['fee_refund_minor', 'bigint'],
  pendingMinor: ['pending_minor', 'bigint'],
  availableMinor: ['available_minor', 'bigint'],
  succeededAt: ['succeeded_at', 'timestamptz'],
  nextRecheckAt: ['next_recheck_at', 'timestamptz'],
};

const DISPUTE_PATCH_COLUMNS: PatchColumns<DisputePatch> = {
  status: ['status', 'text'],
  closedAt: ['closed_at', 'timestamptz'],
  statusBefore: ['status_before', 'text'],
};

/** Distinct ids, at most IDS_PER_QUERY_MAX of them (callers batch). */
function boundedIds(ids: readonly string[]): string[] {
  if (ids.length > IDS_PER_QUERY_MAX) throw new Error(`at most ${IDS_PER_QUERY_MAX} ids per query`);
  return [...new Set(ids)];
}

/** An update by primary key must hit its row: a missing one is a bug, not a no-op. */
function expectOneRow(count: number, what: string): void {
  if (count !== 1) throw new Error(`${what} not found`);
}

// --- reads -----------------------------------------------------------------------------------

async function selectPayment(client: SqlClient, where: string, ...values: unknown[]): Promise<PaymentRecord | null> {
  const [row] = await client.$queryRawUnsafe<PaymentRow[]>(`SELECT ${PAYMENT_COLUMNS} FROM payments WHERE ${where}`, ...values);
  return row ? toPayment(row) : null;
}

async function selectRefund(client: SqlClient, id: string): Promise<RefundRecord | null> {
  const [row] = await client.$queryRawUnsafe<RefundRow[]>(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE id = $1`, id);
  return row ? toRefund(row) : null;
}

async function selectDispute(client: SqlClient, where: string, ...values: unknown[]): Promise<DisputeRecord | null> {
  const [row] = await client.$queryRawUnsafe<DisputeRow[]>(`SELECT ${DISPUTE_COLUMNS} FROM disputes WHERE ${where}`, ...values);
  return row ? toDispute(row) : null;
}

async function ordersOfPayment(client: SqlClient, paymentId: string): Promise<PaymentOrderRecord[]> {
  const rows = await client.$queryRawUnsafe<OrderRow[]>(`SELECT ${ORDER_COLUMNS} FROM payment_orders WHERE payment_id = $1 ORDER BY position`, paymentId);
  return rows.map(toOrder);
}

/** Rows of `table` by id (any order); no statement for no ids. */
async function selectByIds<Row, R>(client: SqlClient, columns: string, table: string, ids: readonly string[], map: (row: Row) => R): Promise<R[]> {
  const distinct = boundedIds(ids);
  if (distinct.length === 0) return [];
  const rows = await client.$queryRawUnsafe<Row[]>(`SELECT ${columns} FROM ${table} WHERE id = ANY($1::text[])`, distinct);
  return rows.map(map);
}

// --- writes ----------------------------------------------------------------------------------

async function insertPaymentRow(tx: SqlClient, payment: NewPayment['payment']): Promise<PaymentRecord> {
  const [row] = await tx.$queryRawUnsafe<PaymentRow[]>(
    `INSERT INTO payments (id, status, buyer_id, currency, amount_minor, checkout_url, psp_payment_intent_id,
       psp_checkout_session_id, failure_code, failure_message, return_url, metadata, idempotency_caller_id, idempotency_key)
     VALUES ($1, $2, $3, $4, $5::bigint, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14)
     RETURNING ${PAYMENT_COLUMNS}`,
    payment.id,
    payment.status,
    payment.buyerId,
    payment.currency,
    sqlParam(payment.amountMinor),
    payment.checkoutUrl,
    payment.pspPaymentIntentId,
    payment.pspCheckoutSessionId,
    payment.failureCode,
    payment.failureMessage,
    payment.returnUrl,
    jsonParam(payment.metadata),
    payment.idempotencyCallerId,
    payment.idempotencyKey,
  );
  if (!row) throw new Error(`insert of payment ${payment.id} returned no row`);
  return toPayment(row);
}

const ORDER_PARAMS_PER_ROW = 9;

/** One multi-row INSERT; until delivery an order's whole net sits in the seller's pending balance. */
async function insertOrderRows(tx: SqlClient, orders: NewPayment['orders']): Promise<PaymentOrderRecord[]> {
  if (orders.length === 0) return [];
  const tuples = orders.map((_, index) => {
    const p = (offset: number) => `$${index * ORDER_PARAMS_PER_ROW + offset}`;
    // The net parameter is used twice: pending_held_minor starts as the net amount.
    return `(${p(1)}, ${p(2)}, ${p(3)}::int, ${p(4)}, ${p(5)}, ${p(6)}::bigint, ${p(7)}::bigint, ${p(8)}::bigint, ${p(9)}, ${p(8)}::bigint)`;
  });
  const values = orders.flatMap((order) => [
    order.id,
    order.paymentId,
    order.position,
    order.sellerId,
    order.reference,
    sqlParam(order.amountMinor),
    sqlParam(order.feeMinor),
    sqlParam(order.netAmountMinor),
    order.status,
  ]);
  const rows = await tx.$queryRawUnsafe<OrderRow[]>(
    `INSERT INTO payment_orders (id, payment_id, position, seller_id, reference, amount_minor, fee_minor, net_amount_minor, status, pending_held_minor)
     VALUES ${tuples.join(', ')}
     RETURNING ${ORDER_COLUMNS}`,
    ...values,
  );
  return byPosition(rows.map(toOrder));
}

async function insertPayment(tx: SqlClient, input: NewPayment): Promise<StoredPayment> {
  const payment = await insertPaymentRow(tx, input.payment);
  const orders = await insertOrderRows(tx, input.orders);
  return { payment, orders };
}

async function updatePayment(tx: SqlClient, id: string, expectedVersion: number, patch: PaymentPatch): Promise<void> {
  const set = setList(patch, PAYMENT_PATCH_COLUMNS, 4);
  const updated = await tx.$executeRawUnsafe(
    `UPDATE payments SET ${[...set.assignments, 'updated_at = $3::timestamptz', 'version = version + 1'].join(', ')}
      WHERE id = $1 AND version = $2::int`,
    id,
    expectedVersion,
    sqlParam(new Date()),
    ...set.values,
  );
  if (updated !== 1) throw new StaleVersionError(`payment ${id} changed concurrently (expected version ${expectedVersion})`);
}

async function setOrdersStatus(tx: SqlClient, paymentId: string, status: PaymentOrderStatus): Promise<PaymentOrderRecord[]> {
  const rows = await tx.$queryRawUnsafe<OrderRow[]>(
    `UPDATE payment_orders SET status = $2, updated_at = $3::timestamptz WHERE payment_id = $1 RETURNING ${ORDER_COLUMNS}`,
    paymentId,
    status,
    sqlParam(new Date()),
  );
  return byPosition(rows.map(toOrder));
}

/** A partial update by id that also stamps updated_at (orders and refunds have one). */
async function updateStamped<P extends object>(tx: SqlClient, table: string, id: string, patch: P, columns: PatchColumns<P>): Promise<void> {
  const set = setList(patch, columns, 3);
  const updated = await tx.$executeRawUnsafe(
    `UPDATE ${table} SET ${[...set.assignments, 'updated_at = $2::timestamptz'].join(', ')} WHERE id = $1`,
    id,
    sqlParam(new Date()),
    ...set.values,
  );
  expectOneRow(updated, `${table} row ${id}`);
}

async function updateDispute(tx: SqlClient, id: string, patch: DisputePatch): Promise<void> {
  const set = setList(patch, DISPUTE_PATCH_COLUMNS, 2);
  // disputes has no updated_at: an empty patch writes nothing but must still find the row.
  const statement = set.assignments.length === 0 ? 'SELECT id FROM disputes WHERE id = $1' : `UPDATE disputes SET ${set.assignments.join(', ')} WHERE id = $1`;
  expectOneRow(await tx.$executeRawUnsafe(statement, id, ...set.values), `dispute ${id}`);
}

async function insertTimelineRow(client: SqlClient, entry: TimelineEntry): Promise<void> {
  await client.$executeRawUnsafe(
    `INSERT INTO timeline_events (id, payment_id, at, source, type, message, data)
     VALUES ($1::uuid, $2, $3::timestamptz, $4, $5, $6, $7::jsonb)`,
    randomUUID(),
    entry.paymentId,
    sqlParam(entry.at),
    entry.source,
    entry.type,
    entry.message,
    jsonParam(entry.data),
  );
}

async function markWebhookProcessed(tx: SqlClient, eventId: string, type: string): Promise<boolean> {
  const inserted = await tx.$executeRawUnsafe(
    'INSERT INTO processed_webhook_events (event_id, type) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING',
    eventId,
    type,
  );
  return inserted === 1;
}

async function insertRefund(tx: SqlClient, refund: NewRefund): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO refunds (id, payment_id, payment_order_id, amount_minor, currency, status, reason, next_recheck_at)
     VALUES ($1, $2, $3, $4::bigint, $5, $6, $7, $8::timestamptz)`,
    refund.id,
    refund.paymentId,
    refund.paymentOrderId,
    sqlParam(refund.amountMinor),
    refund.currency,
    refund.status,
    refund.reason,
    sqlParam(refund.nextRecheckAt),
  );
}

async function insertDispute(tx: SqlClient, dispute: DisputeRecord): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO disputes (id, payment_id, psp_dispute_id, currency, amount_minor, dispute_fee_minor, fee_borne_by,
       loss_borne_by, status, status_before, reason, orders, opened_at, closed_at)
     VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, $7, $8, $9, $10, $11, $12::jsonb, $13::timestamptz, $14::timestamptz)`,
    dispute.id,
    dispute.paymentId,
    dispute.pspDisputeId,
    dispute.currency,
    sqlParam(dispute.amountMinor),
    sqlParam(dispute.disputeFeeMinor),
    dispute.feeBorneBy,
    dispute.lossBorneBy,
    dispute.status,
    dispute.statusBefore,
    dispute.reason,
    disputeOrdersJson(dispute.orders),
    sqlParam(dispute.openedAt),
    sqlParam(dispute.closedAt),
  );
}

/** Adds 1 to an int column of the row `id` and returns the new value. */
async function bumpRound(client: SqlClient, table: string, column: string, id: string): Promise<number> {
  const [row] = await client.$queryRawUnsafe<{ round: number }[]>(`UPDATE ${table} SET ${column} = ${column} + 1 WHERE id = $1 RETURNING ${column} AS round`, id);
  if (!row) throw new Error(`${table} row ${id} not found`);
  return Number(row.round);
}

// --- the ports -------------------------------------------------------------------------------

function transactionOf(tx: SqlClient): PaymentsTransaction {
  return {
    lockPayment: (id) => selectPayment(tx, 'id = $1 FOR UPDATE', id),
    ordersOf: (paymentId) => ordersOfPayment(tx, paymentId),
    insertPayment: (input) => insertPayment(tx, input),
    updatePayment: (id, expectedVersion, patch) => updatePayment(tx, id, expectedVersion, patch),
    setOrdersStatus: (paymentId, status) => setOrdersStatus(tx, paymentId, status),
    addTimeline: (entry) => insertTimelineRow(tx, entry),
    writeEvent: (event) => writeOutbox(tx, event),
    markWebhookProcessed: (eventId, type) => markWebhookProcessed(tx, eventId, type),
    updateOrder: (id, patch) => updateStamped(tx, 'payment_orders', id, patch, ORDER_PATCH_COLUMNS),
    insertRefund: (refund) => insertRefund(tx, refund),
    findRefund: (id) => selectRefund(tx, id),
    updateRefund: (id, patch) => updateStamped(tx, 'refunds', id, patch, REFUND_PATCH_COLUMNS),
    findDisputeByPspId: (pspDisputeId) => selectDispute(tx, 'psp_dispute_id = $1', pspDisputeId),
    openDisputeOf: (paymentId) => selectDispute(tx, "payment_id = $1 AND status = 'OPEN' ORDER BY opened_at DESC LIMIT 1", paymentId),
    insertDispute: (dispute) => insertDispute(tx, dispute),
    updateDispute: (id, patch) => updateDispute(tx, id, patch),
  };
}

async function listPayments(db: SqlClient, filter: PaymentListFilter): Promise<PaymentRecord[]> {
  const conditions: string[] = [];
  const values: unknown[] = [];
  const param = (value: unknown): string => {
    values.push(value);
    return `$${values.length}`;
  };
  if (filter.status) conditions.push(`status = ${param(filter.status)}`);
  if (filter.sellerId) {
    conditions.push(`EXISTS (SELECT 1 FROM payment_orders WHERE payment_orders.payment_id = payments.id AND payment_orders.seller_id = ${param(filter.sellerId)})`);
  }
  // Keyset: strictly after the cursor in (created_at DESC, id DESC) order.
  if (filter.after) conditions.push(`(created_at, id) < (${param(sqlParam(filter.after.createdAt))}::timestamptz, ${param(filter.after.id)}::text)`);
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  const rows = await db.$queryRawUnsafe<PaymentRow[]>(
    `SELECT ${PAYMENT_COLUMNS} FROM payments ${where} ORDER BY created_at DESC, id DESC LIMIT ${param(filter.first + 1)}::int`,
    ...values,
  );
  return rows.map(toPayment);
}

/** Locks the due payments (skipping rows another instance holds), then moves each one's next re-check. */
async function claimPaymentsForRecheck(tx: SqlClient, statuses: readonly string[], limit: number, delayMsFor: (payment: PaymentRecord) => number): Promise<PaymentRecord[]> {
  const rows = await tx.$queryRawUnsafe<PaymentRow[]>(
    `SELECT ${PAYMENT_COLUMNS} FROM payments
      WHERE status = ANY($1::text[]) AND psp_payment_intent_id IS NOT NULL
        AND next_recheck_at IS NOT NULL AND next_recheck_at <= now()
      ORDER BY next_recheck_at
      LIMIT $2::int
      FOR UPDATE SKIP LOCKED`,
    [...statuses],
    limit,
  );
  if (rows.length === 0) return [];
  const due = rows.map(toPayment);
  const nowMs = Date.now();
  await tx.$executeRawUnsafe(
    `UPDATE payments SET next_recheck_at = due.next_at
       FROM unnest($1::text[], $2::timestamptz[]) AS due(id, next_at)
      WHERE payments.id = due.id`,
    due.map((payment) => payment.id),
    due.map((payment) => sqlParam(new Date(nowMs + delayMsFor(payment)))),
  );
  return due;
}

export function sqlPaymentsStore(db: TransactionalDb): PaymentsStore {
  return {
    async transaction(work) {
      return db.$transaction((tx) => work(transactionOf(tx)), TRANSACTION_OPTIONS);
    },
    findPayment: (id) => selectPayment(db, 'id = $1', id),
    findPayments: (ids) => selectByIds(db, PAYMENT_COLUMNS, 'payments', ids, toPayment),
    findPaymentByIdempotencyKey: (callerId, key) => selectPayment(db, 'idempotency_caller_id = $1 AND idempotency_key = $2', callerId, key),
    async ordersOfPayments(paymentIds) {
      const ids = boundedIds(paymentIds);
      if (ids.length === 0) return [];
      const rows = await db.$queryRawUnsafe<OrderRow[]>(`SELECT ${ORDER_COLUMNS} FROM payment_orders WHERE payment_id = ANY($1::text[]) ORDER BY payment_id, position`, ids);
      return rows.map(toOrder);
    },
    findOrders: (ids) => selectByIds(db, ORDER_COLUMNS, 'payment_orders', ids, toOrder),
    listPayments: (filter) => listPayments(db, filter),
    async timelineOf(paymentId) {
      const rows = await db.$queryRawUnsafe<TimelineRow[]>(
        `SELECT ${TIMELINE_COLUMNS} FROM timeline_events WHERE payment_id = $1 ORDER BY at, id LIMIT $2::int`,
        paymentId,
        TIMELINE_PER_PAYMENT_MAX,
      );
      return rows.map(toTimeline);
    },
    async countBuyerPaymentsSince(buyerId, since) {
      const [row] = await db.$queryRawUnsafe<{ count: number }[]>(
        'SELECT count(*)::int AS count FROM payments WHERE buyer_id = $1 AND created_at >= $2::timestamptz',
        buyerId,
        sqlParam(since),
      );
      return Number(row?.count ?? 0);
    },
    async isWebhookProcessed(eventId) {
      const [row] = await db.$queryRawUnsafe<{ processed: boolean }[]>('SELECT EXISTS (SELECT 1 FROM processed_webhook_events WHERE event_id = $1) AS processed', eventId);
      return row?.processed === true;
    },
    addTimeline: (entry) => insertTimelineRow(db, entry),
    bumpRegistrationRound: (paymentId) => bumpRound(db, 'payments', 'psp_registration_round', paymentId),
    async claimPaymentsForRecheck(statuses, limit, delayMsFor) {
      return db.$transaction((tx) => claimPaymentsForRecheck(tx, statuses, limit, delayMsFor), TRANSACTION_OPTIONS);
    },
    async deleteWebhookEventsOlderThan(cutoff, limit) {
      return db.$executeRawUnsafe(
        'DELETE FROM processed_webhook_events WHERE event_id IN (SELECT event_id FROM processed_webhook_events WHERE received_at < $1::timestamptz LIMIT $2::int)',
        sqlParam(cutoff),
        limit,
      );
    },
    findPaymentByIntent: (paymentIntentId) => selectPayment(db, 'psp_payment_intent_id = $1', paymentIntentId),
    findRefunds: (ids) => selectByIds(db, REFUND_COLUMNS, 'refunds', ids, toRefund),
    async refundsOfOrders(orderIds) {
      const ids = boundedIds(orderIds);
      if (ids.length === 0) return [];
      const rows = await db.$queryRawUnsafe<RefundRow[]>(
        `SELECT ${REFUND_COLUMNS} FROM refunds WHERE payment_order_id = ANY($1::text[]) ORDER BY created_at, id LIMIT $2::int`,
        ids,
        REFUNDS_PER_QUERY_MAX,
      );
      return rows.map(toRefund);
    },
    bumpRefundRound: (refundId) => bumpRound(db, 'refunds', 'psp_round', refundId),
    async claimRefundsForRecheck(limit, delayMs) {
      // One statement is its own transaction: the locked rows are claimed and moved atomically.
      const rows = await db.$queryRawUnsafe<RefundRow[]>(
        `UPDATE refunds SET next_recheck_at = $2::timestamptz
          WHERE id IN (
            SELECT id FROM refunds
             WHERE status = 'PENDING' AND next_recheck_at IS NOT NULL AND next_recheck_at <= now()
             ORDER BY next_recheck_at
             LIMIT $1::int
             FOR UPDATE SKIP LOCKED)
          RETURNING ${REFUND_COLUMNS}`,
        limit,
        sqlParam(new Date(Date.now() + delayMs)),
      );
      return rows.map(toRefund);
    },
    async dueReleaseOrderIds(limit) {
      const rows = await db.$queryRawUnsafe<{ id: string; payment_id: string }[]>(
        `SELECT id, payment_id FROM payment_orders
          WHERE released_at IS NULL AND release_due_at <= $1::timestamptz
          ORDER BY release_due_at
          LIMIT $2::int`,
        sqlParam(new Date()),
        limit,
      );
      return rows.map((row) => ({ orderId: row.id, paymentId: row.payment_id }));
    },
  };
}
