// Audit of the after-sale mutations (refunds, delivery) against the design: idempotency when a
// run is interrupted after the PSP was called, and bad input that must write nothing. A real
// (throw-away) payments database and the real PSP simulator (in-process, its own database) through
// the official SDK, as in the service (simulator.test-support.ts); payments are paid on its hosted page.
import { PrismaPg } from '@prisma/adapter-pg';
import { createPgDatabase, DomainError, type Caller, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, waitFor, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import type { PspDisputeState } from '../psp/port.js';
import { createCheckout } from './create-checkout.js';
import { confirmDelivery } from './delivery.js';
import { applyPspDisputeState } from './disputes.js';
import type { PaymentsDeps } from './deps.js';
import { testPaymentsDeps } from './deps.test-support.js';
import { applyPspRefundState, refundPaymentOrder } from './refunds.js';
import { paidCheckout, SIMULATOR_PSP_POLICY, startPaymentsSimulator, type PaymentsSimulator } from './simulator.test-support.js';

let database: TestDatabase;
let pg: PgDatabase;
let prisma: PrismaClient;
let simulator: PaymentsSimulator;
let deps: PaymentsDeps;
const platform: Caller = { role: 'platform', keyId: 'key_audit', sellerId: null };
let counter = 0;

/** The refund requests the PSP has received so far (its request log; the tests run one at a time). */
async function pspRefundRequests(): Promise<number> {
  return (await simulator.apiRequests({ method: 'POST', path: '/v1/refunds' })).length;
}

/** A checkout paid on the PSP's hosted page and brought to SUCCEEDED from the PSP's state (as its webhook would). */
async function paidPayment(amounts: bigint[] = [6000n, 4000n]) {
  counter += 1;
  const input = { idempotencyKey: `ck${counter}`, buyerId: `b${counter}`, currency: 'USD', orders: amounts.map((amountMinor, i) => ({ sellerId: `s${i}`, amountMinor })) };
  const { paymentId, paymentIntentId } = await paidCheckout(deps, platform, input);
  const orders = await prisma.paymentOrder.findMany({ where: { paymentId }, orderBy: { position: 'asc' } });
  return { paymentId, paymentIntentId, orders };
}

/** The refund's outcome as the PSP reports it once it settled (what its refund.updated webhook carries). */
async function settleFromPsp(refundId: string): Promise<void> {
  const row = await prisma.refund.findUniqueOrThrow({ where: { id: refundId } });
  const state = await waitFor(async () => {
    const current = await deps.psp.retrieveRefund(row.pspRefundId!);
    return current.status === 'succeeded' ? current : undefined;
  }, `refund ${refundId} succeeded at the PSP`, 5_000);
  await applyPspRefundState(deps, refundId, state, 'refund.updated');
}

/** Everything a mutation on this payment could have written. */
async function footprint(paymentId: string, orderIds: string[]) {
  const [orders, payment, refunds, outbox, timeline, keys] = await Promise.all([
    prisma.paymentOrder.findMany({ where: { id: { in: orderIds } }, orderBy: { position: 'asc' } }),
    prisma.payment.findUniqueOrThrow({ where: { id: paymentId } }),
    prisma.refund.count({ where: { paymentId } }),
    prisma.outboxMessage.count({ where: { correlationId: paymentId } }),
    prisma.timelineEvent.count({ where: { paymentId } }),
    prisma.idempotencyKey.count({ where: { callerId: platform.keyId } }),
  ]);
  return { orders, payment, refunds, outbox, timeline, keys };
}

async function codeOf(promise: Promise<{ userErrors: { code: string }[] }>): Promise<string> {
  try {
    const result = await promise;
    return result.userErrors[0]?.code ?? 'none';
  } catch (error) {
    return error instanceof DomainError ? error.code : `unexpected: ${String(error)}`;
  }
}

beforeAll(async () => {
  database = await createTestDatabase('payments');
  pg = createPgDatabase(database.url, { poolMax: 10 });
  prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: database.url, max: 10 }) });
  simulator = await startPaymentsSimulator({ config: { refundDelayMs: 50 } });
  deps = testPaymentsDeps(pg, simulator.psp, { pspPolicy: SIMULATOR_PSP_POLICY });
});

afterAll(async () => {
  await simulator?.stop();
  await pg?.end();
  await prisma?.$disconnect();
  await database?.drop();
});

describe('refundPaymentOrder idempotency', () => {
  test('a run that fails after the PSP created the refund: the retry with the same key finishes that refund, never a second one', async () => {
    const { paymentId, paymentIntentId, orders } = await paidPayment([5000n]);
    const input = { idempotencyKey: `rk${counter}`, paymentOrderId: orders[0]!.id, amountMinor: 1000n };
    // The database connection drops right after the PSP answered (the run throws; its key is released).
    const store = deps.store;
    const failing: PaymentsDeps = {
      ...deps,
      store: {
        ...store,
        addTimeline: async () => {
          throw new Error('Connection terminated unexpectedly');
        },
      },
    };
    await expect(refundPaymentOrder(failing, platform, input)).rejects.toThrow('Connection terminated');
    expect(await simulator.refundsOf(paymentIntentId)).toHaveLength(1);

    const retried = await refundPaymentOrder(deps, platform, input);
    expect(retried.userErrors).toEqual([]);
    const again = await refundPaymentOrder(deps, platform, input);
    expect(again).toEqual({ ...retried, replayed: true });
    await settleFromPsp(retried.id!);

    // One refund requested, one refund at the PSP, one refund of 1000 booked.
    const atPsp = await simulator.refundsOf(paymentIntentId);
    expect(atPsp.map((refund) => [refund.refundId, refund.amountMinor, refund.status])).toEqual([[retried.id, 1000n, 'succeeded']]);
    const rows = await prisma.refund.findMany({ where: { paymentId } });
    expect(rows.map((row) => [row.id, row.status, row.amountMinor])).toEqual([[retried.id, 'SUCCEEDED', 1000n]]);
    const order = await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orders[0]!.id } });
    expect(order).toMatchObject({ refundedAmountMinor: 1000n, reservedRefundMinor: 0n, status: 'PARTIALLY_REFUNDED' });
    expect(await prisma.outboxMessage.count({ where: { correlationId: paymentId, eventType: 'refund.succeeded' } })).toBe(1);
  });

  test('after such a failure, the same key with another amount is IDEMPOTENCY_KEY_REUSED and sends nothing', async () => {
    const { paymentId, paymentIntentId, orders } = await paidPayment([5000n]);
    const input = { idempotencyKey: `ru${counter}`, paymentOrderId: orders[0]!.id, amountMinor: 700n };
    const failing: PaymentsDeps = { ...deps, store: { ...deps.store, addTimeline: async () => Promise.reject(new Error('Connection terminated unexpectedly')) } };
    await expect(refundPaymentOrder(failing, platform, input)).rejects.toThrow('Connection terminated');
    expect(await codeOf(refundPaymentOrder(deps, platform, { ...input, amountMinor: 701n }))).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await prisma.refund.count({ where: { paymentId } })).toBe(1);
    expect(await simulator.refundsOf(paymentIntentId)).toHaveLength(1);
    // The original input still finishes the one refund.
    const finished = await refundPaymentOrder(deps, platform, input);
    expect(finished.userErrors).toEqual([]);
    await settleFromPsp(finished.id!);
    expect(await prisma.refund.findMany({ where: { paymentId }, select: { status: true, amountMinor: true } })).toEqual([{ status: 'SUCCEEDED', amountMinor: 700n }]);
    expect(await simulator.refundsOf(paymentIntentId)).toHaveLength(1);
  });
});

describe('bad input to the after-sale mutations writes nothing', () => {
  test('refundPaymentOrder: typed errors, no key, no refund, no reservation, no event', async () => {
    const { paymentId, orders } = await paidPayment([5000n]);
    const orderId = orders[0]!.id;
    const before = await footprint(paymentId, [orderId]);
    const requestsBefore = await pspRefundRequests();
    const cases: [Parameters<typeof refundPaymentOrder>[2], string, string[]][] = [
      [{ idempotencyKey: 'v1', paymentOrderId: orderId, amountMinor: 0n }, 'INVALID_INPUT', ['input', 'amountMinor']],
      [{ idempotencyKey: 'v2', paymentOrderId: orderId, amountMinor: -5n }, 'INVALID_INPUT', ['input', 'amountMinor']],
      [{ idempotencyKey: 'v3', paymentOrderId: orderId, reason: '' }, 'INVALID_INPUT', ['input', 'reason']],
      [{ idempotencyKey: 'v4', paymentOrderId: orderId, reason: 'x'.repeat(501) }, 'INVALID_INPUT', ['input', 'reason']],
      [{ idempotencyKey: 'v5', paymentOrderId: orderId, reason: 'damaged\u0000' }, 'INVALID_INPUT', ['input', 'reason']],
      [{ idempotencyKey: '', paymentOrderId: orderId }, 'INVALID_INPUT', ['input', 'idempotencyKey']],
      [{ idempotencyKey: 'k'.repeat(256), paymentOrderId: orderId }, 'INVALID_INPUT', ['input', 'idempotencyKey']],
      [{ idempotencyKey: 'v\u0000', paymentOrderId: orderId }, 'INVALID_INPUT', ['input', 'idempotencyKey']],
      [{ idempotencyKey: 'v6', paymentOrderId: 'not-an-order' }, 'NOT_FOUND', ['input', 'paymentOrderId']],
    ];
    for (const [input, code, field] of cases) {
      let error: unknown = null;
      try {
        await refundPaymentOrder(deps, platform, input);
      } catch (thrown) {
        error = thrown;
      }
      expect({ input, error: error instanceof DomainError ? { code: error.code, field: error.field } : String(error) }).toEqual({ input, error: { code, field } });
    }
    expect(await codeOf(refundPaymentOrder(deps, { role: 'seller', keyId: 'key_seller', sellerId: 's0' }, { idempotencyKey: 'v7', paymentOrderId: orderId }))).toBe('FORBIDDEN');
    expect(await footprint(paymentId, [orderId])).toEqual(before);
    expect(await pspRefundRequests()).toBe(requestsBefore);
  });

  test('refundPaymentOrder: a refused amount or state writes no refund, reservation or event', async () => {
    const { paymentId, orders } = await paidPayment([5000n]);
    const requestsBefore = await pspRefundRequests();
    const { paymentId: unpaidId } = await createCheckout(deps, { caller: platform, input: { idempotencyKey: `cu${++counter}`, buyerId: 'bu', currency: 'USD', orders: [{ sellerId: 's', amountMinor: 100n }] } });
    const unpaidOrder = await prisma.paymentOrder.findFirstOrThrow({ where: { paymentId: unpaidId! } });
    const before = [await footprint(paymentId, [orders[0]!.id]), await footprint(unpaidId!, [unpaidOrder.id])];
    expect(await codeOf(refundPaymentOrder(deps, platform, { idempotencyKey: `x1${counter}`, paymentOrderId: orders[0]!.id, amountMinor: 5001n }))).toBe('AMOUNT_EXCEEDS_REFUNDABLE');
    expect(await codeOf(refundPaymentOrder(deps, platform, { idempotencyKey: `x2${counter}`, paymentOrderId: unpaidOrder.id }))).toBe('INVALID_STATE');
    expect(await codeOf(refundPaymentOrder(deps, platform, { idempotencyKey: `x3${counter}`, paymentOrderId: 'ord_00000000-0000-0000-0000-000000000000' }))).toBe('NOT_FOUND');
    const after = [await footprint(paymentId, [orders[0]!.id]), await footprint(unpaidId!, [unpaidOrder.id])];
    // Only the idempotency keys (the refusals are stored for replay) may differ.
    expect(after.map(({ keys: _keys, ...rest }) => rest)).toEqual(before.map(({ keys: _keys, ...rest }) => rest));
    expect(await pspRefundRequests()).toBe(requestsBefore);
  });

  test('confirmDelivery: typed errors, nothing written', async () => {
    const { paymentId, orders } = await paidPayment([5000n]);
    const orderId = orders[0]!.id;
    const before = await footprint(paymentId, [orderId]);
    expect(await codeOf(confirmDelivery(deps, platform, { idempotencyKey: 'dv1', paymentOrderId: 'nope' }))).toBe('NOT_FOUND');
    expect(await codeOf(confirmDelivery(deps, platform, { idempotencyKey: '', paymentOrderId: orderId }))).toBe('INVALID_INPUT');
    expect(await codeOf(confirmDelivery(deps, platform, { idempotencyKey: 'k'.repeat(256), paymentOrderId: orderId }))).toBe('INVALID_INPUT');
    expect(await codeOf(confirmDelivery(deps, platform, { idempotencyKey: 'dv\u0000', paymentOrderId: orderId }))).toBe('INVALID_INPUT');
    expect(await codeOf(confirmDelivery(deps, { role: 'seller', keyId: 'key_seller', sellerId: 's0' }, { idempotencyKey: 'dv2', paymentOrderId: orderId }))).toBe('FORBIDDEN');
    expect(await footprint(paymentId, [orderId])).toEqual(before);
  });
});

describe('disputes with a refund in flight', () => {
  test('the PSP disputes what is not refunded yet (pending refunds included): an order being fully refunded holds nothing', async () => {
    // Order A 6000 (seller s0), order B 4000 (seller s1). A is being refunded in full; the PSP
    // counts the pending refund as refunded, so the chargeback (4000) is all of B's money.
    const { paymentId, paymentIntentId, orders } = await paidPayment([6000n, 4000n]);
    // The PSP keeps this refund pending for the rest of the test.
    await simulator.config({ refundDelayMs: 600_000 });
    const refund = await refundPaymentOrder(deps, platform, { idempotencyKey: `dr${counter}`, paymentOrderId: orders[0]!.id }).finally(() => simulator.config({ refundDelayMs: 50 }));
    expect(refund.userErrors).toEqual([]);
    expect((await prisma.refund.findUniqueOrThrow({ where: { id: refund.id! } })).status).toBe('PENDING');
    // The dispute as the PSP's webhook would carry it (it disputes captured - refunded: 4000).
    const open: PspDisputeState = { pspDisputeId: `dp_audit_${counter}`, paymentIntentId, amountMinor: 4000n, currency: 'USD', status: 'open', pspStatus: 'needs_response', reason: 'fraudulent', feeMinor: 0n };
    expect(await applyPspDisputeState(deps, open, null)).toBe('opened');
    const opened = await prisma.outboxMessage.findFirstOrThrow({ where: { correlationId: paymentId, eventType: 'dispute.opened' } });
    const holds = (opened.payload as { orders: { sellerId: string; pendingMinor: string; availableMinor: string }[] }).orders;
    expect(holds.map((h) => [h.sellerId, BigInt(h.pendingMinor) + BigInt(h.availableMinor)])).toEqual([['s0', 0n], ['s1', 4000n]]);

    // The refund then succeeds (its refund.updated webhook): each seller has given back exactly what its buyer got back.
    const [state] = await simulator.refundsOf(paymentIntentId);
    expect(state).toMatchObject({ refundId: refund.id, amountMinor: 6000n, status: 'pending' });
    await applyPspRefundState(deps, refund.id!, { ...state!, status: 'succeeded' }, 'refund.updated');
    const refunded = await prisma.outboxMessage.findFirstOrThrow({ where: { correlationId: paymentId, eventType: 'refund.succeeded' } });
    const plan = refunded.payload as { pendingMinor: string; availableMinor: string; feeRefundMinor: string };
    const sellerA = holds[0]!;
    expect(BigInt(sellerA.pendingMinor) + BigInt(sellerA.availableMinor) + BigInt(plan.pendingMinor) + BigInt(plan.availableMinor) + BigInt(plan.feeRefundMinor)).toBe(6000n);
  });
});
