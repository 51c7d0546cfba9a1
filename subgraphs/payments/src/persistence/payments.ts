// Raw-SQL implementation of the payments store (application/ports.ts) on node-postgres: every
// statement goes through the kit's structural TransactionalDb / SqlClient (in the service the
// shared PgDatabase, db/pg-database.ts). It replaced the Prisma Client store because Prisma's query
// engine cost more CPU per checkout than the SQL itself (BENCHMARKS.md). Parameterized statements
// with explicit column lists only; rows are mapped in payment-rows.ts. Round trips are kept low
// where it is free: a new payment with its orders and first timeline entry is one statement;
// a locked read is one SELECT ... FOR UPDATE; updates of payments and orders RETURN the rows the
// caller needs next; inside a transaction, timeline entries and outbox events are buffered and
// written with one statement each before the commit; the re-check claims are one UPDATE (refunds)
// or one locked SELECT plus one UPDATE (payments, whose next re-check depends on each row).
import { v7 as timeOrderedUuid } from 'uuid';
import { outboxBatchInsert, writeOutboxBatch, type DomainEvent, type IdempotentExecutionContext, type JsonValue, type SqlClient, type TransactionalDb, type TransactionOptions } from '@clearhouse/shared';
import type { PaymentOrderStatus } from '../domain/payment-status.js';
import {
  BuyerVelocityExceededError,
  DuplicateIdempotencyKeyError,
  NotDeferrableError,
  type BuyerVelocityLimit,
  WebhookAlreadyRecordedError,
  type ChangeAloneOptions,
  StaleVersionError,
  type DisputeRecord,
  type NewPayment,
  type OrderPatch,
  type PaymentListFilter,
  type PaymentOrderRecord,
  type PaymentPatch,
  type PaymentRecord,
  type PaymentsStore,
  type PaymentsTransaction,
  type RefundPatch,
  type RefundRecord,
  type StoredPayment,
  type TimelineEntry,
  type WebhookSnapshot,
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

export { StaleVersionError } from '../application/ports.js';

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
  failedAt: ['failed_at', 'timestamptz'],
  reversalFeeRefundMinor: ['reversal_fee_refund_minor', 'bigint'],
  reversalPendingMinor: ['reversal_pending_minor', 'bigint'],
  reversalAvailableMinor: ['reversal_available_minor', 'bigint'],
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

function selectRefund(client: SqlClient, id: string): Promise<RefundRecord | null> {
  return selectRefundWhere(client, 'id = $1', id);
}

async function selectRefundWhere(client: SqlClient, where: string, ...values: unknown[]): Promise<RefundRecord | null> {
  const [row] = await client.$queryRawUnsafe<RefundRow[]>(`SELECT ${REFUND_COLUMNS} FROM refunds WHERE ${where}`, ...values);
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

/**
 * Timeline rows are read ORDER BY at, id: time-ordered ids (UUIDv7, monotonic within a process)
 * keep entries written in the same millisecond in the order they were written.
 */
export function timelineEntryId(): string {
  return timeOrderedUuid();
}

const PAYMENTS_IDEMPOTENCY_CONSTRAINT = 'payments_idempotency_caller_id_idempotency_key_key';

function columnNames(columns: string): string[] {
  return columns.split(',').map((column) => column.trim());
}

/** The payment's columns prefixed `p_` next to the order's own in createPayment's result rows. */
const CREATED_COLUMNS = [...columnNames(PAYMENT_COLUMNS).map((column) => `p.${column} AS p_${column}`), ...columnNames(ORDER_COLUMNS).map((column) => `o.${column}`)].join(', ');

function paymentOfPrefixed(row: Record<string, unknown>): PaymentRecord {
  const unprefixed: Record<string, unknown> = {};
  for (const column of columnNames(PAYMENT_COLUMNS)) unprefixed[column] = row[`p_${column}`];
  return toPayment(unprefixed as unknown as PaymentRow);
}

function isUniqueViolation(error: unknown, constraint: string): boolean {
  const candidate = error as { code?: unknown; constraint?: unknown; message?: unknown };
  return candidate.code === '23505' && (candidate.constraint === constraint || (typeof candidate.message === 'string' && candidate.message.includes(constraint)));
}

/**
 * One statement (atomic on its own): the payment, its orders (until delivery an order's whole
 * net sits in the seller's pending balance) and its first timeline entry. Returns one row per
 * order carrying the payment's columns too, each with the buyer's payments since the velocity
 * limit's `since` (not counting this one); with a limit that the count already reaches it writes
 * nothing and returns one row holding only that count.
 */
async function createPayment(db: SqlClient, input: NewPayment, timeline: TimelineEntry, velocity?: BuyerVelocityLimit): Promise<StoredPayment> {
  const { payment, orders } = input;
  if (orders.length === 0) throw new Error('a payment needs at least one order');
  let rows: (OrderRow & Record<string, unknown> & { recent_count: number })[];
  try {
    rows = await db.$queryRawUnsafe<(OrderRow & Record<string, unknown> & { recent_count: number })[]>(
      `WITH recent AS (
         SELECT CASE WHEN $29::timestamptz IS NULL THEN 0
                     ELSE (SELECT count(*)::int FROM payments WHERE buyer_id = $3 AND created_at >= $29::timestamptz) END AS n),
       p AS (
         INSERT INTO payments (id, status, buyer_id, currency, amount_minor, checkout_url, psp_payment_intent_id,
           psp_checkout_session_id, failure_code, failure_message, return_url, metadata, idempotency_caller_id, idempotency_key)
         SELECT $1, $2, $3, $4, $5::bigint, $6, $7, $8, $9, $10, $11, $12::jsonb, $13, $14
          WHERE $30::int IS NULL OR (SELECT n FROM recent) < $30::int
         RETURNING ${PAYMENT_COLUMNS}),
       o AS (
         INSERT INTO payment_orders (id, payment_id, position, seller_id, reference, amount_minor, fee_minor, net_amount_minor, status, pending_held_minor)
         SELECT x.id, p.id, x.position, x.seller_id, x.reference, x.amount_minor, x.fee_minor, x.net_amount_minor, x.status, x.net_amount_minor
           FROM unnest($15::text[], $16::int[], $17::text[], $18::text[], $19::bigint[], $20::bigint[], $21::bigint[], $22::text[])
                AS x(id, position, seller_id, reference, amount_minor, fee_minor, net_amount_minor, status)
          CROSS JOIN p
         RETURNING ${ORDER_COLUMNS}),
       t AS (
         INSERT INTO timeline_events (id, payment_id, at, source, type, message, data)
         SELECT $23::uuid, p.id, $24::timestamptz, $25, $26, $27, $28::jsonb FROM p)
       SELECT r.n AS recent_count, c.*
         FROM recent r
         LEFT JOIN (SELECT ${CREATED_COLUMNS} FROM p CROSS JOIN o) c ON true
        ORDER BY c.position`,
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
      orders.map((order) => order.id),
      orders.map((order) => order.position),
      orders.map((order) => order.sellerId),
      orders.map((order) => order.reference),
      orders.map((order) => sqlParam(order.amountMinor)),
      orders.map((order) => sqlParam(order.feeMinor)),
      orders.map((order) => sqlParam(order.netAmountMinor)),
      orders.map((order) => order.status),
      timelineEntryId(),
      sqlParam(timeline.at),
      timeline.source,
      timeline.type,
      timeline.message,
      jsonParam(timeline.data),
      velocity ? sqlParam(velocity.since) : null,
      velocity ? velocity.max : null,
    );
  } catch (error) {
    if (isUniqueViolation(error, PAYMENTS_IDEMPOTENCY_CONSTRAINT)) {
      throw new DuplicateIdempotencyKeyError(`caller ${payment.idempotencyCallerId} already has a payment under this idempotency key`);
    }
    throw error;
  }
  const [first] = rows;
  if (first && first.id === null) throw new BuyerVelocityExceededError(Number(first.recent_count));
  if (!first || rows.length !== orders.length) throw new Error(`insert of payment ${payment.id} returned ${rows.length} rows for ${orders.length} orders`);
  if (orders.some((order) => order.paymentId !== payment.id)) throw new Error(`an order of payment ${payment.id} names another payment`);
  return { payment: paymentOfPrefixed(first), orders: byPosition(rows.map(toOrder)) };
}

/** The version-checked UPDATE of a payment (without RETURNING) and its parameters from $1. */
function paymentUpdate(id: string, expectedVersion: number, patch: PaymentPatch, updatedAt: Date): { sql: string; params: unknown[] } {
  const set = setList(patch, PAYMENT_PATCH_COLUMNS, 4);
  return {
    sql: `UPDATE payments SET ${[...set.assignments, 'updated_at = $3::timestamptz', 'version = version + 1'].join(', ')}
      WHERE id = $1 AND version = $2::int`,
    params: [id, expectedVersion, sqlParam(updatedAt), ...set.values],
  };
}

function staleVersion(id: string, expectedVersion: number): StaleVersionError {
  return new StaleVersionError(`payment ${id} changed concurrently (expected version ${expectedVersion})`);
}

async function updatePayment(tx: SqlClient, id: string, expectedVersion: number, patch: PaymentPatch): Promise<PaymentRecord> {
  const update = paymentUpdate(id, expectedVersion, patch, new Date());
  const [row] = await tx.$queryRawUnsafe<PaymentRow[]>(`${update.sql} RETURNING ${PAYMENT_COLUMNS}`, ...update.params);
  if (!row) throw staleVersion(id, expectedVersion);
  return toPayment(row);
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
    timelineEntryId(),
    entry.paymentId,
    sqlParam(entry.at),
    entry.source,
    entry.type,
    entry.message,
    jsonParam(entry.data),
  );
}

/** The INSERT of several timeline entries (in the given order) and its seven parameters from `$firstParam`. */
function timelineBatchInsert(entries: readonly TimelineEntry[], firstParam = 1): { sql: string; params: unknown[] } {
  const p = (offset: number) => `$${firstParam + offset}`;
  return {
    sql: `INSERT INTO timeline_events (id, payment_id, at, source, type, message, data)
     SELECT * FROM unnest(${p(0)}::uuid[], ${p(1)}::text[], ${p(2)}::timestamptz[], ${p(3)}::text[], ${p(4)}::text[], ${p(5)}::text[], ${p(6)}::jsonb[])`,
    params: [
      entries.map(() => timelineEntryId()),
      entries.map((entry) => entry.paymentId),
      entries.map((entry) => sqlParam(entry.at)),
      entries.map((entry) => entry.source),
      entries.map((entry) => entry.type),
      entries.map((entry) => entry.message),
      entries.map((entry) => jsonParam(entry.data)),
    ],
  };
}

/** Several timeline entries in one statement (in the given order). */
async function insertTimelineRows(client: SqlClient, entries: readonly TimelineEntry[]): Promise<void> {
  if (entries.length === 0) return;
  if (entries.length === 1 && entries[0]) return insertTimelineRow(client, entries[0]);
  const insert = timelineBatchInsert(entries);
  await client.$executeRawUnsafe(insert.sql, ...insert.params);
}

async function markWebhookProcessed(tx: SqlClient, eventId: string, type: string): Promise<boolean> {
  const inserted = await tx.$executeRawUnsafe(
    'INSERT INTO processed_webhook_events (event_id, type) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING',
    eventId,
    type,
  );
  return inserted === 1;
}

async function markWebhookAndLockPayment(tx: SqlClient, eventId: string, type: string, paymentId: string): Promise<{ fresh: boolean; payment: PaymentRecord } | null> {
  // The payment's row lock first, then the event id (`mark` reads `locked` before it inserts):
  // the same order as changeAlone's webhook statement, so two deliveries of one event, one on
  // each path, cannot deadlock. A data-modifying CTE runs to completion whether or not the
  // payment exists, so an unknown payment's event id is recorded too.
  const [row] = await tx.$queryRawUnsafe<(PaymentRow & { webhook_fresh: boolean })[]>(
    `WITH locked AS (SELECT ${PAYMENT_COLUMNS} FROM payments WHERE id = $3 FOR UPDATE),
     mark AS (INSERT INTO processed_webhook_events (event_id, type)
              SELECT $1, $2 FROM (SELECT count(*) FROM locked) AS lock_first
              ON CONFLICT (event_id) DO NOTHING RETURNING 1)
     SELECT EXISTS (SELECT 1 FROM mark) AS webhook_fresh, locked.* FROM locked`,
    eventId,
    type,
    paymentId,
  );
  return row ? { fresh: row.webhook_fresh, payment: toPayment(row) } : null;
}

/**
 * The buffered timeline entries and outbox events of a transaction in one statement (two
 * data-modifying CTEs): one round trip instead of two.
 */
async function insertTimelineAndOutbox(tx: SqlClient, entries: readonly TimelineEntry[], events: readonly DomainEvent<unknown>[]): Promise<void> {
  const timeline = timelineBatchInsert(entries);
  const outbox = outboxBatchInsert(events, timeline.params.length + 1);
  const [row] = await tx.$queryRawUnsafe<{ outbox: number }[]>(
    `WITH timeline AS (${timeline.sql}), outbox AS (${outbox.sql} RETURNING 1)
     SELECT count(*)::int AS outbox FROM outbox`,
    ...timeline.params,
    ...outbox.params,
  );
  if (row?.outbox !== events.length) throw new Error(`outbox insert of ${events.length} events wrote ${row?.outbox ?? 0} rows`);
}

async function insertRefund(tx: SqlClient, refund: NewRefund): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO refunds (id, payment_id, payment_order_id, amount_minor, currency, status, reason, next_recheck_at,
                          idempotency_caller_id, idempotency_key)
     VALUES ($1, $2, $3, $4::bigint, $5, $6, $7, $8::timestamptz, $9, $10)`,
    refund.id,
    refund.paymentId,
    refund.paymentOrderId,
    sqlParam(refund.amountMinor),
    refund.currency,
    refund.status,
    refund.reason,
    sqlParam(refund.nextRecheckAt),
    refund.idempotencyCallerId,
    refund.idempotencyKey,
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

/** The port over one open transaction; `flush` writes the buffered timeline entries and events. */
function transactionOf(tx: SqlClient): { port: PaymentsTransaction; flush: () => Promise<void> } {
  const timeline: TimelineEntry[] = [];
  const events: DomainEvent<unknown>[] = [];
  const port: PaymentsTransaction = {
    lockPayment: (id) => selectPayment(tx, 'id = $1 FOR UPDATE', id),
    ordersOf: (paymentId) => ordersOfPayment(tx, paymentId),
    updatePayment: (id, expectedVersion, patch) => updatePayment(tx, id, expectedVersion, patch),
    setOrdersStatus: (paymentId, status) => setOrdersStatus(tx, paymentId, status),
    addTimeline: async (entry) => {
      timeline.push(entry);
    },
    writeEvent: async (event) => {
      events.push(event);
    },
    completeIdempotentRequest: (context, response) => context.complete(tx, response),
    markWebhookProcessed: (eventId, type) => markWebhookProcessed(tx, eventId, type),
    markWebhookAndLockPayment: (eventId, type, paymentId) => markWebhookAndLockPayment(tx, eventId, type, paymentId),
    updateOrder: (id, patch) => updateStamped(tx, 'payment_orders', id, patch, ORDER_PATCH_COLUMNS),
    insertRefund: (refund) => insertRefund(tx, refund),
    findRefund: (id) => selectRefund(tx, id),
    updateRefund: (id, patch) => updateStamped(tx, 'refunds', id, patch, REFUND_PATCH_COLUMNS),
    findDisputeByPspId: (pspDisputeId) => selectDispute(tx, 'psp_dispute_id = $1', pspDisputeId),
    openDisputeOf: (paymentId) => selectDispute(tx, "payment_id = $1 AND status = 'OPEN' ORDER BY opened_at DESC LIMIT 1", paymentId),
    insertDispute: (dispute) => insertDispute(tx, dispute),
    updateDispute: (id, patch) => updateDispute(tx, id, patch),
  };
  const flush = async () => {
    const entries = timeline.splice(0);
    const batch = events.splice(0);
    if (entries.length > 0 && batch.length > 0) return insertTimelineAndOutbox(tx, entries, batch);
    await insertTimelineRows(tx, entries);
    await writeOutboxBatch(tx, batch);
  };
  return { port, flush };
}

/**
 * PaymentsStore.changeAlone: the work runs against a port that only records, then one statement
 * makes every write, each guarded by the payment's version check (a data-modifying CTE the
 * others test with EXISTS), so a changed version writes nothing at all. With a webhook, the
 * payment row is locked at the expected version first, the event id is recorded only then, and
 * the update also requires that the id was new.
 */
async function changeAlone<T>(db: SqlClient, current: PaymentRecord, work: (tx: PaymentsTransaction) => Promise<T>, options: ChangeAloneOptions = {}): Promise<T> {
  let update: { patch: PaymentPatch; updatedAt: Date; record: PaymentRecord } | undefined;
  let ordersStatus: { status: PaymentOrderStatus; updatedAt: Date } | undefined;
  let webhookMarked = false;
  const timeline: TimelineEntry[] = [];
  const events: DomainEvent<unknown>[] = [];
  let completion: { context: IdempotentExecutionContext; response: JsonValue } | undefined;
  const cannot = (what: string) => async (): Promise<never> => {
    throw new NotDeferrableError(`${what} cannot wait for the change's one statement`);
  };
  const knownOrders = options.orders;
  const webhook = options.webhook;
  const port: PaymentsTransaction = {
    lockPayment: cannot('lockPayment'),
    ordersOf: cannot('ordersOf'),
    updatePayment: async (id, expectedVersion, patch) => {
      if (id !== current.id || expectedVersion !== current.version || update) throw new NotDeferrableError('only one update, of the payment given, can be deferred');
      const updatedAt = new Date();
      // The record as the UPDATE leaves it (as toPayment would read it back): the patch's fields
      // that the record has (not the re-check schedule), the next version and this updated_at.
      const changed = Object.fromEntries(Object.entries(patch).filter(([key, value]) => value !== undefined && key in current)) as Partial<PaymentRecord>;
      update = { patch, updatedAt, record: { ...current, ...changed, version: current.version + 1, updatedAt } };
      return update.record;
    },
    setOrdersStatus: async (paymentId, status) => {
      if (!knownOrders || knownOrders.length === 0 || paymentId !== current.id || ordersStatus || knownOrders.some((order) => order.paymentId !== current.id)) {
        throw new NotDeferrableError('the orders\' status can be deferred once, for the payment given, with its orders known');
      }
      ordersStatus = { status, updatedAt: new Date() };
      const { updatedAt } = ordersStatus;
      return byPosition(knownOrders.map((order) => ({ ...order, status, updatedAt })));
    },
    addTimeline: async (entry) => {
      timeline.push(entry);
    },
    writeEvent: async (event) => {
      events.push(event);
    },
    completeIdempotentRequest: async (context, response) => {
      if (completion) throw new NotDeferrableError('one idempotency response per change');
      completion = { context, response };
    },
    markWebhookProcessed: cannot('markWebhookProcessed'),
    markWebhookAndLockPayment: async (eventId, type, paymentId) => {
      if (!webhook || eventId !== webhook.eventId || type !== webhook.type || paymentId !== current.id || webhookMarked) throw new NotDeferrableError('only the webhook given, for the payment given, can be recorded with the change');
      webhookMarked = true;
      return { fresh: true, payment: current };
    },
    updateOrder: cannot('updateOrder'),
    insertRefund: cannot('insertRefund'),
    findRefund: cannot('findRefund'),
    updateRefund: cannot('updateRefund'),
    findDisputeByPspId: cannot('findDisputeByPspId'),
    openDisputeOf: cannot('openDisputeOf'),
    insertDispute: cannot('insertDispute'),
    updateDispute: cannot('updateDispute'),
  };
  const result = await work(port);
  if (!update) throw new NotDeferrableError('a change alone needs the payment update to check its version');

  const payment = paymentUpdate(current.id, current.version, update.patch, update.updatedAt);
  const params = [...payment.params];
  const ctes: string[] = [];
  let updateGuard = '';
  if (webhookMarked && webhook) {
    // $1 and $2 are the payment's id and expected version (paymentUpdate). Locked at that
    // version, the row cannot move before the update below; a moved version locks nothing,
    // so the event id is not recorded and the locked path can apply the webhook.
    params.push(webhook.eventId, webhook.type);
    ctes.push(
      'locked AS (SELECT id FROM payments WHERE id = $1 AND version = $2::int FOR UPDATE)',
      `mark AS (INSERT INTO processed_webhook_events (event_id, type) SELECT $${params.length - 1}, $${params.length} FROM locked ON CONFLICT (event_id) DO NOTHING RETURNING 1)`,
    );
    updateGuard = ' AND EXISTS (SELECT 1 FROM mark)';
  }
  ctes.push(`payment AS (${payment.sql}${updateGuard} RETURNING 1)`);
  const updated = 'EXISTS (SELECT 1 FROM payment)';
  if (ordersStatus) {
    params.push(ordersStatus.status, sqlParam(ordersStatus.updatedAt));
    ctes.push(`orders AS (UPDATE payment_orders SET status = $${params.length - 1}, updated_at = $${params.length}::timestamptz WHERE payment_id = $1 AND ${updated} RETURNING 1)`);
  }
  if (timeline.length > 0) {
    const insert = timelineBatchInsert(timeline, params.length + 1);
    params.push(...insert.params);
    ctes.push(`timeline AS (${insert.sql} WHERE ${updated})`);
  }
  if (events.length > 0) {
    const insert = outboxBatchInsert(events, params.length + 1);
    params.push(...insert.params);
    ctes.push(`outbox AS (${insert.sql} WHERE ${updated} RETURNING 1)`);
  }
  if (completion) {
    const complete = completion.context.completionStatement(completion.response, params.length + 1);
    params.push(...complete.params);
    ctes.push(`completion AS (${complete.sql} AND ${updated})`);
  }
  const count = (cte: string, present: boolean, otherwise: number) => (present ? `(SELECT count(*) FROM ${cte})::int` : String(otherwise));
  const [row] = await db.$queryRawUnsafe<{ locked: number; marked: number; updated: number; orders: number; outbox: number }[]>(
    `WITH ${ctes.join(',\n')}
     SELECT ${count('locked', webhookMarked, 1)} AS locked, ${count('mark', webhookMarked, 1)} AS marked, (SELECT count(*) FROM payment)::int AS updated,
            ${count('orders', ordersStatus !== undefined, 0)} AS orders, ${count('outbox', events.length > 0, 0)} AS outbox`,
    ...params,
  );
  if (row?.locked !== 1) throw staleVersion(current.id, current.version);
  if (row.marked !== 1) throw new WebhookAlreadyRecordedError(`webhook event ${webhook?.eventId} was recorded before; payment ${current.id} left as it was`);
  if (row.updated !== 1) throw staleVersion(current.id, current.version);
  if (ordersStatus && row.orders !== knownOrders?.length) throw new Error(`status update of payment ${current.id}'s ${knownOrders?.length} orders wrote ${row.orders} rows`);
  if (row.outbox !== events.length) throw new Error(`outbox insert of ${events.length} events wrote ${row.outbox} rows`);
  return result;
}

/** WebhookSnapshot: one row per order (or one row without an order), each with the flag and the payment's columns. */
async function webhookSnapshot(db: SqlClient, eventId: string, paymentIntentId: string | null): Promise<WebhookSnapshot> {
  const rows = await db.$queryRawUnsafe<(OrderRow & Record<string, unknown> & { webhook_processed: boolean })[]>(
    `SELECT EXISTS (SELECT 1 FROM processed_webhook_events WHERE event_id = $1) AS webhook_processed, ${CREATED_COLUMNS}
       FROM (SELECT 1) AS one
       LEFT JOIN payments p ON p.psp_payment_intent_id = $2
       LEFT JOIN payment_orders o ON o.payment_id = p.id
      ORDER BY o.position`,
    eventId,
    paymentIntentId,
  );
  const [first] = rows;
  const processed = first?.webhook_processed === true;
  if (!first || first.p_id === null || first.p_id === undefined) return { processed, payment: null, orders: [] };
  return { processed, payment: paymentOfPrefixed(first), orders: byPosition(rows.filter((row) => row.id !== null).map(toOrder)) };
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
      return db.$transaction(async (tx) => {
        const unit = transactionOf(tx);
        const result = await work(unit.port);
        await unit.flush();
        return result;
      }, TRANSACTION_OPTIONS);
    },
    changeAlone: (current, work, options) => changeAlone(db, current, work, options),
    createPayment: (input, timeline, velocity) => createPayment(db, input, timeline, velocity),
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
    webhookSnapshot: (eventId, paymentIntentId) => webhookSnapshot(db, eventId, paymentIntentId),
    addTimeline: (entry) => insertTimelineRow(db, entry),
    bumpRegistrationRound: (paymentId) => bumpRound(db, 'payments', 'psp_registration_round', paymentId),
    bumpExpireRound: (paymentId) => bumpRound(db, 'payments', 'psp_expire_round', paymentId),
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
    findRefundByIdempotencyKey: (callerId, key) => selectRefundWhere(db, 'idempotency_caller_id = $1 AND idempotency_key = $2', callerId, key),
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
    async createdPaymentIdsBefore(cutoff, limit) {
      // Served by (status, next_recheck_at): CREATED rows are only those registering now and the abandoned ones.
      const rows = await db.$queryRawUnsafe<{ id: string }[]>(
        `SELECT id FROM payments WHERE status = 'CREATED' AND created_at < $1::timestamptz ORDER BY created_at, id LIMIT $2::int`,
        sqlParam(cutoff),
        limit,
      );
      return rows.map((row) => row.id);
    },
  };
}
