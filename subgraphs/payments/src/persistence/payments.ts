// Prisma implementation of the payments store (application/ports.ts).
import { randomUUID } from 'node:crypto';
import { writeOutbox, type SqlClient } from '@clearhouse/shared';
import type { DisputeModel, PaymentModel, PaymentOrderModel, RefundModel, TimelineEventModel } from '../generated/prisma/models.js';
import { Prisma } from '../generated/prisma/client.js';
import type { PaymentOrderStatus, PaymentStatus } from '../domain/payment-status.js';
import type { DisputeOrderRecord, DisputeRecord, PaymentOrderRecord, PaymentRecord, PaymentsStore, PaymentsTransaction, RefundRecord, RefundStatus, TimelineEntry } from '../application/ports.js';
import type { PaymentsPrisma } from './prisma.js';

type Tx = Prisma.TransactionClient;

const TRANSACTION_TIMEOUT_MS = 15_000;
const TRANSACTION_MAX_WAIT_MS = 10_000;
const TIMELINE_PER_PAYMENT_MAX = 1_000;
const IDS_PER_QUERY_MAX = 1_000;
const REFUNDS_PER_QUERY_MAX = 10_000;

export class StaleVersionError extends Error {
  override readonly name = 'StaleVersionError';
}

function toPayment(row: PaymentModel): PaymentRecord {
  return { ...row, status: row.status as PaymentStatus, metadata: row.metadata ?? null };
}

function toOrder(row: PaymentOrderModel): PaymentOrderRecord {
  return { ...row, status: row.status as PaymentOrderStatus };
}

function toRefund(row: RefundModel): RefundRecord {
  return { ...row, status: row.status as RefundStatus };
}

interface DisputeOrderJson {
  paymentOrderId: string;
  sellerId: string;
  pendingMinor: string;
  availableMinor: string;
  disputeFeeMinor: string;
}

function toDispute(row: DisputeModel): DisputeRecord {
  const orders = (row.orders as unknown as DisputeOrderJson[]).map(
    (order): DisputeOrderRecord => ({
      paymentOrderId: order.paymentOrderId,
      sellerId: order.sellerId,
      pendingMinor: BigInt(order.pendingMinor),
      availableMinor: BigInt(order.availableMinor),
      disputeFeeMinor: BigInt(order.disputeFeeMinor),
    }),
  );
  return {
    ...row,
    feeBorneBy: row.feeBorneBy as DisputeRecord['feeBorneBy'],
    lossBorneBy: row.lossBorneBy as DisputeRecord['lossBorneBy'],
    status: row.status as DisputeRecord['status'],
    statusBefore: row.statusBefore as PaymentStatus,
    orders,
  };
}

function disputeOrdersJson(orders: readonly DisputeOrderRecord[]): Prisma.InputJsonValue {
  return orders.map((order) => ({
    paymentOrderId: order.paymentOrderId,
    sellerId: order.sellerId,
    pendingMinor: order.pendingMinor.toString(),
    availableMinor: order.availableMinor.toString(),
    disputeFeeMinor: order.disputeFeeMinor.toString(),
  }));
}

function toTimeline(row: TimelineEventModel): TimelineEntry {
  return { paymentId: row.paymentId, at: row.at, source: row.source, type: row.type, message: row.message, data: (row.data ?? null) as Record<string, unknown> | null };
}

function jsonInput(value: unknown): Prisma.InputJsonValue | typeof Prisma.DbNull {
  return value === null || value === undefined ? Prisma.DbNull : (value as Prisma.InputJsonValue);
}

function boundedIds(ids: readonly string[]): string[] {
  if (ids.length > IDS_PER_QUERY_MAX) throw new Error(`at most ${IDS_PER_QUERY_MAX} ids per query`);
  return [...new Set(ids)];
}

async function addTimelineRow(client: Tx | PaymentsPrisma, entry: TimelineEntry): Promise<void> {
  await client.timelineEvent.create({
    data: { id: randomUUID(), paymentId: entry.paymentId, at: entry.at, source: entry.source, type: entry.type, message: entry.message, data: jsonInput(entry.data) },
  });
}

function transactionOf(tx: Tx): PaymentsTransaction {
  return {
    async lockPayment(id) {
      const locked = await tx.$queryRawUnsafe<{ id: string }[]>('SELECT id FROM payments WHERE id = $1 FOR UPDATE', id);
      if (locked.length === 0) return null;
      const row = await tx.payment.findUnique({ where: { id } });
      return row ? toPayment(row) : null;
    },
    async ordersOf(paymentId) {
      return (await tx.paymentOrder.findMany({ where: { paymentId }, orderBy: { position: 'asc' } })).map(toOrder);
    },
    async insertPayment({ payment, orders }) {
      await tx.payment.create({ data: { ...payment, metadata: jsonInput(payment.metadata) } });
      // Until delivery the order's whole net sits in the seller's pending balance.
      await tx.paymentOrder.createMany({ data: orders.map((order) => ({ ...order, pendingHeldMinor: order.netAmountMinor })) });
    },
    async updatePayment(id, expectedVersion, patch) {
      const updated = await tx.payment.updateMany({
        where: { id, version: expectedVersion },
        data: { ...patch, updatedAt: new Date(), version: { increment: 1 } },
      });
      if (updated.count !== 1) throw new StaleVersionError(`payment ${id} changed concurrently (expected version ${expectedVersion})`);
    },
    async setOrdersStatus(paymentId, status) {
      await tx.paymentOrder.updateMany({ where: { paymentId }, data: { status, updatedAt: new Date() } });
    },
    async addTimeline(entry) {
      await addTimelineRow(tx, entry);
    },
    async writeEvent(event) {
      await writeOutbox(tx as unknown as SqlClient, event);
    },
    async markWebhookProcessed(eventId, type) {
      const inserted = await tx.$executeRawUnsafe(
        'INSERT INTO processed_webhook_events (event_id, type) VALUES ($1, $2) ON CONFLICT (event_id) DO NOTHING',
        eventId,
        type,
      );
      return inserted === 1;
    },
    async updateOrder(id, patch) {
      await tx.paymentOrder.update({ where: { id }, data: { ...patch, updatedAt: new Date() } });
    },
    async insertRefund(refund) {
      await tx.refund.create({ data: { ...refund } });
    },
    async findRefund(id) {
      const row = await tx.refund.findUnique({ where: { id } });
      return row ? toRefund(row) : null;
    },
    async updateRefund(id, patch) {
      await tx.refund.update({ where: { id }, data: { ...patch, updatedAt: new Date() } });
    },
    async findDisputeByPspId(pspDisputeId) {
      const row = await tx.dispute.findUnique({ where: { pspDisputeId } });
      return row ? toDispute(row) : null;
    },
    async openDisputeOf(paymentId) {
      const row = await tx.dispute.findFirst({ where: { paymentId, status: 'OPEN' }, orderBy: { openedAt: 'desc' } });
      return row ? toDispute(row) : null;
    },
    async insertDispute(dispute) {
      await tx.dispute.create({ data: { ...dispute, orders: disputeOrdersJson(dispute.orders) } });
    },
    async updateDispute(id, patch) {
      await tx.dispute.update({ where: { id }, data: patch });
    },
  };
}

export function prismaPaymentsStore(prisma: PaymentsPrisma): PaymentsStore {
  return {
    transaction(work) {
      return prisma.$transaction((tx) => work(transactionOf(tx)), { timeout: TRANSACTION_TIMEOUT_MS, maxWait: TRANSACTION_MAX_WAIT_MS });
    },
    async findPayment(id) {
      const row = await prisma.payment.findUnique({ where: { id } });
      return row ? toPayment(row) : null;
    },
    async findPayments(ids) {
      return (await prisma.payment.findMany({ where: { id: { in: boundedIds(ids) } } })).map(toPayment);
    },
    async findPaymentByIdempotencyKey(callerId, key) {
      const row = await prisma.payment.findUnique({ where: { idempotencyCallerId_idempotencyKey: { idempotencyCallerId: callerId, idempotencyKey: key } } });
      return row ? toPayment(row) : null;
    },
    async ordersOfPayments(paymentIds) {
      const rows = await prisma.paymentOrder.findMany({ where: { paymentId: { in: boundedIds(paymentIds) } }, orderBy: [{ paymentId: 'asc' }, { position: 'asc' }] });
      return rows.map(toOrder);
    },
    async findOrders(ids) {
      return (await prisma.paymentOrder.findMany({ where: { id: { in: boundedIds(ids) } } })).map(toOrder);
    },
    async listPayments(filter) {
      const where: Prisma.PaymentWhereInput = {};
      if (filter.status) where.status = filter.status;
      if (filter.sellerId) where.orders = { some: { sellerId: filter.sellerId } };
      if (filter.after) {
        where.OR = [{ createdAt: { lt: filter.after.createdAt } }, { createdAt: filter.after.createdAt, id: { lt: filter.after.id } }];
      }
      const rows = await prisma.payment.findMany({ where, orderBy: [{ createdAt: 'desc' }, { id: 'desc' }], take: filter.first + 1 });
      return rows.map(toPayment);
    },
    async timelineOf(paymentId) {
      const rows = await prisma.timelineEvent.findMany({ where: { paymentId }, orderBy: [{ at: 'asc' }, { id: 'asc' }], take: TIMELINE_PER_PAYMENT_MAX });
      return rows.map(toTimeline);
    },
    async countBuyerPaymentsSince(buyerId, since) {
      return prisma.payment.count({ where: { buyerId, createdAt: { gte: since } } });
    },
    async isWebhookProcessed(eventId) {
      return (await prisma.processedWebhookEvent.count({ where: { eventId } })) > 0;
    },
    async addTimeline(entry) {
      await addTimelineRow(prisma, entry);
    },
    async bumpRegistrationRound(paymentId) {
      const row = await prisma.payment.update({ where: { id: paymentId }, data: { pspRegistrationRound: { increment: 1 } }, select: { pspRegistrationRound: true } });
      return row.pspRegistrationRound;
    },
    async claimPaymentsForRecheck(statuses, limit, delayMsFor) {
      return prisma.$transaction(
        async (tx) => {
          const due = await tx.$queryRawUnsafe<{ id: string }[]>(
            `SELECT id FROM payments
              WHERE status = ANY($1::text[]) AND psp_payment_intent_id IS NOT NULL
                AND next_recheck_at IS NOT NULL AND next_recheck_at <= now()
              ORDER BY next_recheck_at
              LIMIT $2
              FOR UPDATE SKIP LOCKED`,
            [...statuses],
            limit,
          );
          if (due.length === 0) return [];
          const rows = (await tx.payment.findMany({ where: { id: { in: due.map((d) => d.id) } } })).map(toPayment);
          const nowMs = Date.now();
          for (const row of rows) {
            await tx.payment.update({ where: { id: row.id }, data: { nextRecheckAt: new Date(nowMs + delayMsFor(row)) } });
          }
          return rows;
        },
        { timeout: TRANSACTION_TIMEOUT_MS, maxWait: TRANSACTION_MAX_WAIT_MS },
      );
    },
    async deleteWebhookEventsOlderThan(cutoff, limit) {
      return prisma.$executeRawUnsafe(
        `DELETE FROM processed_webhook_events WHERE event_id IN (SELECT event_id FROM processed_webhook_events WHERE received_at < $1 LIMIT $2)`,
        cutoff,
        limit,
      );
    },
    async findPaymentByIntent(paymentIntentId) {
      const row = await prisma.payment.findUnique({ where: { pspPaymentIntentId: paymentIntentId } });
      return row ? toPayment(row) : null;
    },
    async findRefunds(ids) {
      return (await prisma.refund.findMany({ where: { id: { in: boundedIds(ids) } } })).map(toRefund);
    },
    async refundsOfOrders(orderIds) {
      const rows = await prisma.refund.findMany({ where: { paymentOrderId: { in: boundedIds(orderIds) } }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }], take: REFUNDS_PER_QUERY_MAX });
      return rows.map(toRefund);
    },
    async bumpRefundRound(refundId) {
      const row = await prisma.refund.update({ where: { id: refundId }, data: { pspRound: { increment: 1 } }, select: { pspRound: true } });
      return row.pspRound;
    },
    async claimRefundsForRecheck(limit, delayMs) {
      return prisma.$transaction(
        async (tx) => {
          const due = await tx.$queryRawUnsafe<{ id: string }[]>(
            `SELECT id FROM refunds
              WHERE status = 'PENDING' AND next_recheck_at IS NOT NULL AND next_recheck_at <= now()
              ORDER BY next_recheck_at
              LIMIT $1
              FOR UPDATE SKIP LOCKED`,
            limit,
          );
          if (due.length === 0) return [];
          const ids = due.map((d) => d.id);
          await tx.refund.updateMany({ where: { id: { in: ids } }, data: { nextRecheckAt: new Date(Date.now() + delayMs) } });
          return (await tx.refund.findMany({ where: { id: { in: ids } } })).map(toRefund);
        },
        { timeout: TRANSACTION_TIMEOUT_MS, maxWait: TRANSACTION_MAX_WAIT_MS },
      );
    },
    async dueReleaseOrderIds(limit) {
      const rows = await prisma.paymentOrder.findMany({
        where: { releasedAt: null, releaseDueAt: { lte: new Date() } },
        orderBy: { releaseDueAt: 'asc' },
        take: limit,
        select: { id: true, paymentId: true },
      });
      return rows.map((row) => ({ orderId: row.id, paymentId: row.paymentId }));
    },
  };
}
