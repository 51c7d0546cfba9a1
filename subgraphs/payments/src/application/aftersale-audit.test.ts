// Audit of the after-sale mutations (refunds, delivery) against the design: idempotency when a
// run is interrupted after the PSP was called, and bad input that must write nothing. A real
// (throw-away) payments database; the PSP is a small in-memory stand-in as in aftersale-flow.test.ts.
import { PrismaPg } from '@prisma/adapter-pg';
import { createPgDatabase, DomainError, type Caller, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import { PspError, type CreateRefundRequest, type PaymentsPsp, type PspDisputeState, type PspPaymentState, type PspRefundState } from '../psp/port.js';
import { createCheckout } from './create-checkout.js';
import { confirmDelivery } from './delivery.js';
import { applyPspDisputeState } from './disputes.js';
import type { PaymentsDeps } from './deps.js';
import { testPaymentsDeps } from './deps.test-support.js';
import { applyPspRefundState, refundPaymentOrder } from './refunds.js';
import { syncPaymentWithPsp } from './sync-with-psp.js';

let database: TestDatabase;
let pg: PgDatabase;
let prisma: PrismaClient;

/** Keeps refunds like Stripe: the same idempotency key answers with the same refund. */
class FakePsp implements PaymentsPsp {
  refunds = new Map<string, PspRefundState>();
  byIdempotencyKey = new Map<string, PspRefundState>();
  refundCalls: CreateRefundRequest[] = [];
  /** What a new refund's status is when the PSP answers (Stripe: pending, then succeeded). */
  answerStatus: PspRefundState['status'] = 'succeeded';
  async createCheckoutSession(request: { paymentId: string }) {
    return { sessionId: `cs_${request.paymentId}`, paymentIntentId: `pi_${request.paymentId}`, url: `http://psp/pay/cs_${request.paymentId}` };
  }
  async retrievePaymentIntent(id: string): Promise<PspPaymentState> {
    return intent(id.slice(3), 'SUCCEEDED');
  }
  async expireCheckoutSession() {}
  parseWebhook(): never {
    throw new Error('not used');
  }
  async createRefund(request: CreateRefundRequest): Promise<PspRefundState> {
    this.refundCalls.push(request);
    const replay = this.byIdempotencyKey.get(request.idempotencyKey);
    if (replay) return replay;
    const state: PspRefundState = { pspRefundId: `re_${this.refunds.size + 1}_${request.refundId}`, paymentIntentId: request.paymentIntentId, amountMinor: request.amountMinor, currency: 'USD', status: this.answerStatus, refundId: request.refundId, failureReason: null };
    this.refunds.set(state.pspRefundId, state);
    this.byIdempotencyKey.set(request.idempotencyKey, state);
    return state;
  }
  async retrieveRefund(id: string) {
    const refund = this.refunds.get(id);
    if (!refund) throw new PspError('rejected', 'no such refund', 404, 'resource_missing');
    return refund;
  }
  async listRefunds(paymentIntentId: string) {
    return [...this.refunds.values()].filter((refund) => refund.paymentIntentId === paymentIntentId);
  }
  async retrieveDispute(): Promise<PspDisputeState> {
    throw new Error('not used');
  }
  async retrievePayout(id: string) {
    return { pspPayoutId: id, status: 'paid' as const, payoutId: 'payout_1', failureCode: null, failureMessage: null };
  }
}

function intent(paymentId: string, status: PspPaymentState['status']): PspPaymentState {
  return { paymentIntentId: `pi_${paymentId}`, status, pspStatus: status.toLowerCase(), paymentId, amountMinor: 0n, currency: 'USD', chargeId: 'ch_1', failureCode: null, failureMessage: null };
}

let psp: FakePsp;
let deps: PaymentsDeps;
const platform: Caller = { role: 'platform', keyId: 'key_audit', sellerId: null };
let counter = 0;

async function paidPayment(amounts: bigint[] = [6000n, 4000n]) {
  counter += 1;
  const input = { idempotencyKey: `ck${counter}`, buyerId: `b${counter}`, currency: 'USD', orders: amounts.map((amountMinor, i) => ({ sellerId: `s${i}`, amountMinor })) };
  const { paymentId } = await createCheckout(deps, { caller: platform, input });
  await syncPaymentWithPsp(deps, paymentId!, intent(paymentId!, 'SUCCEEDED'), 'test');
  const orders = await prisma.paymentOrder.findMany({ where: { paymentId: paymentId! }, orderBy: { position: 'asc' } });
  return { paymentId: paymentId!, orders };
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
});

beforeEach(() => {
  psp = new FakePsp();
  deps = testPaymentsDeps(pg, psp);
});

afterAll(async () => {
  await pg?.end();
  await prisma?.$disconnect();
  await database?.drop();
});

describe('refundPaymentOrder idempotency', () => {
  test('a run that fails after the PSP created the refund: the retry with the same key finishes that refund, never a second one', async () => {
    const { paymentId, orders } = await paidPayment([5000n]);
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
    expect(psp.refunds.size).toBe(1);

    const retried = await refundPaymentOrder(deps, platform, input);
    expect(retried.userErrors).toEqual([]);
    const again = await refundPaymentOrder(deps, platform, input);
    expect(again).toEqual({ ...retried, replayed: true });

    // One refund requested, one refund at the PSP, one refund of 1000 booked.
    expect(psp.refunds.size).toBe(1);
    expect(new Set(psp.refundCalls.map((call) => call.refundId)).size).toBe(1);
    const rows = await prisma.refund.findMany({ where: { paymentId } });
    expect(rows.map((row) => [row.id, row.status, row.amountMinor])).toEqual([[retried.id, 'SUCCEEDED', 1000n]]);
    const order = await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orders[0]!.id } });
    expect(order).toMatchObject({ refundedAmountMinor: 1000n, reservedRefundMinor: 0n, status: 'PARTIALLY_REFUNDED' });
    expect(await prisma.outboxMessage.count({ where: { correlationId: paymentId, eventType: 'refund.succeeded' } })).toBe(1);
  });

  test('after such a failure, the same key with another amount is IDEMPOTENCY_KEY_REUSED and sends nothing', async () => {
    const { paymentId, orders } = await paidPayment([5000n]);
    const input = { idempotencyKey: `ru${counter}`, paymentOrderId: orders[0]!.id, amountMinor: 700n };
    const failing: PaymentsDeps = { ...deps, store: { ...deps.store, addTimeline: async () => Promise.reject(new Error('Connection terminated unexpectedly')) } };
    await expect(refundPaymentOrder(failing, platform, input)).rejects.toThrow('Connection terminated');
    expect(await codeOf(refundPaymentOrder(deps, platform, { ...input, amountMinor: 701n }))).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(await prisma.refund.count({ where: { paymentId } })).toBe(1);
    expect(psp.refunds.size).toBe(1);
    // The original input still finishes the one refund.
    expect((await refundPaymentOrder(deps, platform, input)).userErrors).toEqual([]);
    expect(await prisma.refund.findMany({ where: { paymentId }, select: { status: true, amountMinor: true } })).toEqual([{ status: 'SUCCEEDED', amountMinor: 700n }]);
    expect(psp.refunds.size).toBe(1);
  });
});

describe('bad input to the after-sale mutations writes nothing', () => {
  test('refundPaymentOrder: typed errors, no key, no refund, no reservation, no event', async () => {
    const { paymentId, orders } = await paidPayment([5000n]);
    const orderId = orders[0]!.id;
    const before = await footprint(paymentId, [orderId]);
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
    expect(psp.refundCalls).toEqual([]);
  });

  test('refundPaymentOrder: a refused amount or state writes no refund, reservation or event', async () => {
    const { paymentId, orders } = await paidPayment([5000n]);
    const { paymentId: unpaidId } = await createCheckout(deps, { caller: platform, input: { idempotencyKey: `cu${++counter}`, buyerId: 'bu', currency: 'USD', orders: [{ sellerId: 's', amountMinor: 100n }] } });
    const unpaidOrder = await prisma.paymentOrder.findFirstOrThrow({ where: { paymentId: unpaidId! } });
    const before = [await footprint(paymentId, [orders[0]!.id]), await footprint(unpaidId!, [unpaidOrder.id])];
    expect(await codeOf(refundPaymentOrder(deps, platform, { idempotencyKey: `x1${counter}`, paymentOrderId: orders[0]!.id, amountMinor: 5001n }))).toBe('AMOUNT_EXCEEDS_REFUNDABLE');
    expect(await codeOf(refundPaymentOrder(deps, platform, { idempotencyKey: `x2${counter}`, paymentOrderId: unpaidOrder.id }))).toBe('INVALID_STATE');
    expect(await codeOf(refundPaymentOrder(deps, platform, { idempotencyKey: `x3${counter}`, paymentOrderId: 'ord_00000000-0000-0000-0000-000000000000' }))).toBe('NOT_FOUND');
    const after = [await footprint(paymentId, [orders[0]!.id]), await footprint(unpaidId!, [unpaidOrder.id])];
    // Only the idempotency keys (the refusals are stored for replay) may differ.
    expect(after.map(({ keys: _keys, ...rest }) => rest)).toEqual(before.map(({ keys: _keys, ...rest }) => rest));
    expect(psp.refundCalls).toEqual([]);
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
    const { paymentId, orders } = await paidPayment([6000n, 4000n]);
    psp.answerStatus = 'pending';
    const refund = await refundPaymentOrder(deps, platform, { idempotencyKey: `dr${counter}`, paymentOrderId: orders[0]!.id });
    expect(refund.userErrors).toEqual([]);
    const open: PspDisputeState = { pspDisputeId: `dp_audit_${counter}`, paymentIntentId: `pi_${paymentId}`, amountMinor: 4000n, currency: 'USD', status: 'open', pspStatus: 'needs_response', reason: 'fraudulent', feeMinor: 0n };
    expect(await applyPspDisputeState(deps, open, null)).toBe('opened');
    const opened = await prisma.outboxMessage.findFirstOrThrow({ where: { correlationId: paymentId, eventType: 'dispute.opened' } });
    const holds = (opened.payload as { orders: { sellerId: string; pendingMinor: string; availableMinor: string }[] }).orders;
    expect(holds.map((h) => [h.sellerId, BigInt(h.pendingMinor) + BigInt(h.availableMinor)])).toEqual([['s0', 0n], ['s1', 4000n]]);

    // The refund then succeeds: each seller has given back exactly what its buyer got back.
    const state = [...psp.refunds.values()][0]!;
    await applyPspRefundState(deps, refund.id!, { ...state, status: 'succeeded' }, 'test');
    const refunded = await prisma.outboxMessage.findFirstOrThrow({ where: { correlationId: paymentId, eventType: 'refund.succeeded' } });
    const plan = refunded.payload as { pendingMinor: string; availableMinor: string; feeRefundMinor: string };
    const sellerA = holds[0]!;
    expect(BigInt(sellerA.pendingMinor) + BigInt(sellerA.availableMinor) + BigInt(plan.pendingMinor) + BigInt(plan.availableMinor) + BigInt(plan.feeRefundMinor)).toBe(6000n);
  });
});
