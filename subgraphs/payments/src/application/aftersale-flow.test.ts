// The after-sale use cases against a real (throw-away) payments database and a fake PSP.
import { PrismaPg } from '@prisma/adapter-pg';
import { createPgDatabase, type Caller, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import { PspError, type CreateRefundRequest, type PaymentsPsp, type PspDisputeState, type PspPaymentState, type PspRefundState } from '../psp/port.js';
import { createCheckout } from './create-checkout.js';
import { confirmDelivery, releaseDueOrders } from './delivery.js';
import type { PaymentsDeps } from './deps.js';
import { testPaymentsDeps } from './deps.test-support.js';
import { applyPspDisputeState } from './disputes.js';
import { forwardPayoutWebhook } from './payout-webhooks.js';
import { applyPspRefundState, recheckPendingRefunds, refundPaymentOrder } from './refunds.js';
import { syncPaymentWithPsp } from './sync-with-psp.js';

let database: TestDatabase;
// The store and the idempotency table run on node-postgres as in the service; Prisma reads the
// database for the assertions.
let pg: PgDatabase;
let prisma: PrismaClient;

class FakePsp implements PaymentsPsp {
  refunds = new Map<string, PspRefundState>();
  refundCalls: CreateRefundRequest[] = [];
  refundFailure: PspError | null = null;
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
    if (this.refundFailure) throw this.refundFailure;
    const existing = [...this.refunds.values()].find((refund) => refund.refundId === request.refundId);
    if (existing) return existing;
    const state: PspRefundState = { pspRefundId: `re_${this.refunds.size + 1}_${request.refundId}`, paymentIntentId: request.paymentIntentId, amountMinor: request.amountMinor, currency: 'USD', status: 'pending', refundId: request.refundId, failureReason: null };
    this.refunds.set(state.pspRefundId, state);
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
    return { pspPayoutId: id, status: 'paid', payoutId: 'payout_1', failureCode: null, failureMessage: null };
  }
  settleAll(status: 'succeeded' | 'failed' = 'succeeded') {
    for (const [id, refund] of this.refunds) this.refunds.set(id, { ...refund, status });
  }
}

function intent(paymentId: string, status: PspPaymentState['status']): PspPaymentState {
  return { paymentIntentId: `pi_${paymentId}`, status, pspStatus: status.toLowerCase(), paymentId, amountMinor: 0n, currency: 'USD', chargeId: 'ch_1', failureCode: null, failureMessage: null };
}

let psp: FakePsp;
let deps: PaymentsDeps;
const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };
let counter = 0;

async function paidPayment(amounts: bigint[] = [6000n, 4000n]) {
  counter += 1;
  const input = { idempotencyKey: `k${counter}`, buyerId: `b${counter}`, currency: 'USD', orders: amounts.map((amountMinor, i) => ({ sellerId: `s${i}`, amountMinor })) };
  const { paymentId } = await createCheckout(deps, { caller: platform, input });
  await syncPaymentWithPsp(deps, paymentId!, intent(paymentId!, 'SUCCEEDED'), 'test');
  const orders = await prisma.paymentOrder.findMany({ where: { paymentId: paymentId! }, orderBy: { position: 'asc' } });
  return { paymentId: paymentId!, orders };
}

async function events(paymentId: string, type: string) {
  return prisma.outboxMessage.findMany({ where: { correlationId: paymentId, eventType: type }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}

beforeAll(async () => {
  database = await createTestDatabase('payments');
  pg = createPgDatabase(database.url, { poolMax: 30 });
  prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: database.url, max: 30 }) });
});

beforeEach(() => {
  psp = new FakePsp();
  deps = testPaymentsDeps(pg, psp, { recheck: { minAgeMs: 0, delayMsMax: 5_000 } });
});

afterAll(async () => {
  await pg?.end();
  await prisma?.$disconnect();
  await database?.drop();
});

describe('confirmDelivery', () => {
  test('once: order.delivered@1 with the net; a second key is a no-op; unpaid → INVALID_STATE', async () => {
    const { paymentId, orders } = await paidPayment();
    const first = await confirmDelivery(deps, platform, { idempotencyKey: 'd1', paymentOrderId: orders[0]!.id });
    expect(first).toEqual({ id: orders[0]!.id, userErrors: [], replayed: false });
    expect((await confirmDelivery(deps, platform, { idempotencyKey: 'd1', paymentOrderId: orders[0]!.id })).replayed).toBe(true);
    expect(await confirmDelivery(deps, platform, { idempotencyKey: 'd2', paymentOrderId: orders[0]!.id })).toEqual({ id: orders[0]!.id, userErrors: [], replayed: false });
    const delivered = await events(paymentId, 'order.delivered');
    expect(delivered.map((e) => (e.payload as { netAmountMinor: string }).netAmountMinor)).toEqual(['5826']);
    const row = await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orders[0]!.id } });
    expect(row).toMatchObject({ status: 'DELIVERED', pendingHeldMinor: 0n });
    expect(row.releasedAt).not.toBeNull();

    const { paymentId: unpaidId } = await createCheckout(deps, { caller: platform, input: { idempotencyKey: `u${++counter}`, buyerId: 'bu', currency: 'USD', orders: [{ sellerId: 's', amountMinor: 100n }] } });
    const unpaidOrder = await prisma.paymentOrder.findFirstOrThrow({ where: { paymentId: unpaidId! } });
    const invalid = await confirmDelivery(deps, platform, { idempotencyKey: 'd3', paymentOrderId: unpaidOrder.id });
    expect(invalid.userErrors.map((e) => e.code)).toEqual(['INVALID_STATE']);
  });

  test('with a hold: released by the job once due, exactly once', async () => {
    deps.aftersale = { ...deps.aftersale, deliveryHoldMs: 300 };
    const { paymentId, orders } = await paidPayment([1000n]);
    await confirmDelivery(deps, platform, { idempotencyKey: `h${counter}`, paymentOrderId: orders[0]!.id });
    expect(await events(paymentId, 'order.delivered')).toHaveLength(0);
    await new Promise((resolve) => setTimeout(resolve, 350));
    await Promise.all([releaseDueOrders(deps, 10), releaseDueOrders(deps, 10)]);
    await releaseDueOrders(deps, 10);
    expect(await events(paymentId, 'order.delivered')).toHaveLength(1);
  });
});

describe('refundPaymentOrder', () => {
  test('10 concurrent refunds never exceed the order; settled once each with the planned split', async () => {
    const { paymentId, orders } = await paidPayment([10000n]);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => refundPaymentOrder(deps, platform, { idempotencyKey: `r${counter}-${i}`, paymentOrderId: orders[0]!.id, amountMinor: 1500n })));
    expect(results.filter((r) => r.userErrors.length === 0)).toHaveLength(6);
    expect(results.filter((r) => r.userErrors[0]?.code === 'AMOUNT_EXCEEDS_REFUNDABLE')).toHaveLength(4);
    psp.settleAll();
    for (const refund of psp.refunds.values()) {
      await applyPspRefundState(deps, refund.refundId!, refund, 'test');
      await applyPspRefundState(deps, refund.refundId!, refund, 'test duplicate');
    }
    const order = await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orders[0]!.id } });
    expect(order).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmountMinor: 9000n, reservedRefundMinor: 0n, pendingHeldMinor: 710n });
    const succeeded = await events(paymentId, 'refund.succeeded');
    expect(succeeded).toHaveLength(6);
    expect((await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).status).toBe('PARTIALLY_REFUNDED');
    // The last 1000 (omitted amount) takes 710 from pending and 290 (the kept fee) from available.
    const last = await refundPaymentOrder(deps, platform, { idempotencyKey: `r${counter}-last`, paymentOrderId: orders[0]!.id });
    psp.settleAll();
    const state = [...psp.refunds.values()].find((r) => r.refundId === last.id)!;
    await applyPspRefundState(deps, last.id!, state, 'test');
    const lastEvent = (await events(paymentId, 'refund.succeeded')).at(-1)!.payload;
    expect(lastEvent).toMatchObject({ amountMinor: '1000', pendingMinor: '710', availableMinor: '290', feeRefundMinor: '0' });
    expect((await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).status).toBe('REFUNDED');
  });

  test('server errors: the refund stays PENDING; the re-check creates it with a new key round, once', async () => {
    const { paymentId, orders } = await paidPayment([2000n]);
    psp.refundFailure = new PspError('server', 'injected', 500, 'api_error');
    const result = await refundPaymentOrder(deps, platform, { idempotencyKey: `e${counter}`, paymentOrderId: orders[0]!.id, amountMinor: 500n });
    expect(result.userErrors).toEqual([]);
    expect((await prisma.refund.findUniqueOrThrow({ where: { id: result.id! } })).status).toBe('PENDING');
    expect(psp.refundCalls.map((c) => c.idempotencyKey)).toEqual([`refund:${result.id}`, `refund:${result.id}:1`]);
    psp.refundFailure = null;
    await prisma.refund.update({ where: { id: result.id! }, data: { nextRecheckAt: new Date(Date.now() - 1000) } });
    await recheckPendingRefunds(deps, 10);
    psp.settleAll();
    await prisma.refund.update({ where: { id: result.id! }, data: { nextRecheckAt: new Date(Date.now() - 1000) } });
    await recheckPendingRefunds(deps, 10);
    expect((await prisma.refund.findUniqueOrThrow({ where: { id: result.id! } })).status).toBe('SUCCEEDED');
    expect(psp.refunds.size).toBe(1);
    expect(await events(paymentId, 'refund.succeeded')).toHaveLength(1);
  });

  test('a permanent rejection fails the refund and frees the amount', async () => {
    const { orders } = await paidPayment([2000n]);
    psp.refundFailure = new PspError('rejected', 'charge_already_refunded', 400, 'charge_already_refunded');
    const result = await refundPaymentOrder(deps, platform, { idempotencyKey: `p${counter}`, paymentOrderId: orders[0]!.id });
    expect(result.userErrors.map((e) => e.code)).toEqual(['INVALID_STATE']);
    expect((await prisma.refund.findUniqueOrThrow({ where: { id: result.id! } })).status).toBe('FAILED');
    expect((await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orders[0]!.id } })).reservedRefundMinor).toBe(0n);
  });
});

describe('disputes', () => {
  test('opened → DISPUTED with holds; won → back to the earlier status; applied once', async () => {
    const { paymentId, orders: paidOrders } = await paidPayment();
    await confirmDelivery(deps, platform, { idempotencyKey: `dd${counter}`, paymentOrderId: paidOrders[1]!.id });
    const open: PspDisputeState = { pspDisputeId: `dp_${counter}`, paymentIntentId: `pi_${paymentId}`, amountMinor: 10000n, currency: 'USD', status: 'open', pspStatus: 'needs_response', reason: 'fraudulent', feeMinor: 1500n };
    expect(await applyPspDisputeState(deps, open, { id: `evt_a${counter}`, type: 'charge.dispute.created', paymentIntentId: null, objectType: 'dispute', objectId: open.pspDisputeId, createdAtMs: Date.now() })).toBe('opened');
    expect(await applyPspDisputeState(deps, open, { id: `evt_a${counter}`, type: 'charge.dispute.created', paymentIntentId: null, objectType: 'dispute', objectId: open.pspDisputeId, createdAtMs: Date.now() })).toBe('duplicate_webhook');
    expect((await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).status).toBe('DISPUTED');
    expect(await applyPspDisputeState(deps, { ...open, status: 'won', pspStatus: 'won' }, null)).toBe('won');
    expect(await applyPspDisputeState(deps, { ...open, status: 'won', pspStatus: 'won' }, null)).toBe('unchanged');
    expect((await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).status).toBe('SUCCEEDED');
    expect(await events(paymentId, 'dispute.opened')).toHaveLength(1);
    expect(await events(paymentId, 'dispute.won')).toHaveLength(1);
    const orders = await prisma.paymentOrder.findMany({ where: { paymentId }, orderBy: { position: 'asc' } });
    // Order B was delivered (released) before the dispute: its hold came from available and goes back there.
    expect(orders.map((o) => [o.status, o.pendingHeldMinor])).toEqual([['SUCCEEDED', 5826n], ['DELIVERED', 0n]]);
    const won = (await events(paymentId, 'dispute.won'))[0]!.payload as { orders: { pendingMinor: string; availableMinor: string }[] };
    expect(won.orders.map((o) => [o.pendingMinor, o.availableMinor])).toEqual([['5826', '174'], ['0', '4000']]);
  });
});

test('payout webhooks are forwarded once per event id', async () => {
  const event = { id: `evt_po${++counter}`, type: 'payout.paid', paymentIntentId: null, objectType: 'payout', objectId: `po_${counter}`, createdAtMs: Date.now() };
  expect(await forwardPayoutWebhook(deps, event)).toBe('forwarded');
  expect(await forwardPayoutWebhook(deps, event)).toBe('duplicate_webhook');
  const rows = await prisma.outboxMessage.findMany({ where: { eventType: 'psp.payout_updated', correlationId: 'payout_1' } });
  expect(rows.filter((row) => (row.payload as { pspEventId: string }).pspEventId === event.id)).toHaveLength(1);
});
