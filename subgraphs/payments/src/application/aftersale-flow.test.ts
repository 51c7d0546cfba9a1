// The after-sale use cases against a real (throw-away) payments database and the real PSP
// simulator (in-process, its own database) through the official SDK, as in the service: payments
// are paid on its hosted page, its refunds settle on their own, its chargebacks come from the
// dispute test card, and its fault injection makes it fail.
import { PrismaPg } from '@prisma/adapter-pg';
import { createPgDatabase, type Caller, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, waitFor, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import type { PspRefundState } from '../psp/port.js';
import { createCheckout } from './create-checkout.js';
import { confirmDelivery, releaseDueOrders } from './delivery.js';
import type { PaymentsDeps } from './deps.js';
import { testPaymentsDeps } from './deps.test-support.js';
import { applyPspDisputeState } from './disputes.js';
import { forwardPayoutWebhook } from './payout-webhooks.js';
import { applyPspRefundState, recheckPendingRefunds, refundPaymentOrder } from './refunds.js';
import { paidCheckout, SIMULATOR_PSP_POLICY, startPaymentsSimulator, TEST_CARDS, type PaymentsSimulator } from './simulator.test-support.js';

let database: TestDatabase;
// The store and the idempotency table run on node-postgres as in the service; Prisma reads the
// database for the assertions.
let pg: PgDatabase;
let prisma: PrismaClient;
let simulator: PaymentsSimulator;
let deps: PaymentsDeps;
const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };
let counter = 0;
/** The simulator's request log as it was when the running test began. */
let requestsBefore = 0;

/** A checkout paid on the PSP's hosted page with `card` and brought to SUCCEEDED from the PSP's state. */
async function paidPayment(amounts: bigint[] = [6000n, 4000n], card: string = TEST_CARDS.success) {
  counter += 1;
  const input = { idempotencyKey: `k${counter}`, buyerId: `b${counter}`, currency: 'USD', orders: amounts.map((amountMinor, i) => ({ sellerId: `s${i}`, amountMinor })) };
  const { paymentId, paymentIntentId } = await paidCheckout(deps, platform, input, card);
  const orders = await prisma.paymentOrder.findMany({ where: { paymentId }, orderBy: { position: 'asc' } });
  return { paymentId, paymentIntentId, orders };
}

async function events(paymentId: string, type: string) {
  return prisma.outboxMessage.findMany({ where: { correlationId: paymentId, eventType: type }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}

/** The PSP's refunds of an intent once every one of them succeeded there (refundDelayMs after its creation). */
async function settledRefunds(paymentIntentId: string): Promise<PspRefundState[]> {
  return waitFor(async () => {
    const refunds = await simulator.refundsOf(paymentIntentId);
    return refunds.length > 0 && refunds.every((refund) => refund.status === 'succeeded') ? refunds : undefined;
  }, `the refunds of ${paymentIntentId} succeeded at the PSP`, 5_000);
}

beforeAll(async () => {
  database = await createTestDatabase('payments');
  pg = createPgDatabase(database.url, { poolMax: 30 });
  prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: database.url, max: 30 }) });
  simulator = await startPaymentsSimulator({ config: { refundDelayMs: 50, disputeDelayMs: 50, payoutDelayMs: 60 } });
});

beforeEach(async () => {
  deps = testPaymentsDeps(pg, simulator.psp, { pspPolicy: SIMULATOR_PSP_POLICY, recheck: { minAgeMs: 0, delayMsMax: 5_000 } });
  requestsBefore = await simulator.apiRequestCount();
});

afterEach(async () => {
  await simulator.faults(null);
});

afterAll(async () => {
  await simulator?.stop();
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
    const { paymentId, paymentIntentId, orders } = await paidPayment([10000n]);
    const results = await Promise.all(Array.from({ length: 10 }, (_, i) => refundPaymentOrder(deps, platform, { idempotencyKey: `r${counter}-${i}`, paymentOrderId: orders[0]!.id, amountMinor: 1500n })));
    expect(results.filter((r) => r.userErrors.length === 0)).toHaveLength(6);
    expect(results.filter((r) => r.userErrors[0]?.code === 'AMOUNT_EXCEEDS_REFUNDABLE')).toHaveLength(4);
    // The PSP settles each refund; its state is applied as its refund.updated webhook would, twice.
    const settled = await settledRefunds(paymentIntentId);
    expect(settled).toHaveLength(6);
    for (const refund of settled) {
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
    const state = (await settledRefunds(paymentIntentId)).find((r) => r.refundId === last.id)!;
    await applyPspRefundState(deps, last.id!, state, 'test');
    const lastEvent = (await events(paymentId, 'refund.succeeded')).at(-1)!.payload;
    expect(lastEvent).toMatchObject({ amountMinor: '1000', pendingMinor: '710', availableMinor: '290', feeRefundMinor: '0' });
    expect((await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).status).toBe('REFUNDED');
  });

  test('server errors: the refund stays PENDING; the re-check creates it with a new key round, once', async () => {
    const { paymentId, paymentIntentId, orders } = await paidPayment([2000n]);
    const refundCalls = () => simulator.apiRequests({ after: requestsBefore, method: 'POST', path: '/v1/refunds' });
    // The PSP answers every refund creation with a server error.
    await simulator.faults({ apiErrorRate: 1, paths: ['/v1/refunds'] });
    const result = await refundPaymentOrder(deps, platform, { idempotencyKey: `e${counter}`, paymentOrderId: orders[0]!.id, amountMinor: 500n });
    expect(result.userErrors).toEqual([]);
    expect((await prisma.refund.findUniqueOrThrow({ where: { id: result.id! } })).status).toBe('PENDING');
    expect((await refundCalls()).map((c) => [c.idempotencyKey, c.status])).toEqual([[`refund:${result.id}`, 500], [`refund:${result.id}:1`, 500]]);
    await simulator.faults(null);
    await prisma.refund.update({ where: { id: result.id! }, data: { nextRecheckAt: new Date(Date.now() - 1000) } });
    await recheckPendingRefunds(deps, 10);
    expect((await refundCalls()).map((c) => [c.idempotencyKey, c.status]).slice(2)).toEqual([[`refund:${result.id}:2`, 200]]);
    await settledRefunds(paymentIntentId);
    await prisma.refund.update({ where: { id: result.id! }, data: { nextRecheckAt: new Date(Date.now() - 1000) } });
    await recheckPendingRefunds(deps, 10);
    expect((await prisma.refund.findUniqueOrThrow({ where: { id: result.id! } })).status).toBe('SUCCEEDED');
    expect(await simulator.refundsOf(paymentIntentId)).toHaveLength(1);
    expect(await events(paymentId, 'refund.succeeded')).toHaveLength(1);
  });

  test('a permanent rejection fails the refund and frees the amount', async () => {
    const { paymentIntentId, orders } = await paidPayment([2000n]);
    // The charge was refunded in full at the PSP directly (its dashboard): it refuses any further refund (charge_already_refunded).
    await simulator.stripe.refunds.create({ payment_intent: paymentIntentId });
    const result = await refundPaymentOrder(deps, platform, { idempotencyKey: `p${counter}`, paymentOrderId: orders[0]!.id });
    expect(result.userErrors.map((e) => e.code)).toEqual(['INVALID_STATE']);
    expect((await prisma.refund.findUniqueOrThrow({ where: { id: result.id! } })).status).toBe('FAILED');
    expect((await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orders[0]!.id } })).reservedRefundMinor).toBe(0n);
    // Nothing was refunded a second time.
    expect(await simulator.refundsOf(paymentIntentId)).toHaveLength(1);
  });
});

describe('disputes', () => {
  test('opened → DISPUTED with holds; won → back to the earlier status; applied once', async () => {
    // Paid with the test card the PSP opens a chargeback for (the whole 10000, a 1500 fee).
    const { paymentId, paymentIntentId, orders: paidOrders } = await paidPayment([6000n, 4000n], TEST_CARDS.dispute);
    await confirmDelivery(deps, platform, { idempotencyKey: `dd${counter}`, paymentOrderId: paidOrders[1]!.id });
    const created = await simulator.webhook('charge.dispute.created', paymentIntentId);
    const open = await simulator.psp.retrieveDispute(created.event.objectId!);
    expect(open).toMatchObject({ paymentIntentId, amountMinor: 10000n, currency: 'USD', status: 'open', pspStatus: 'needs_response', reason: 'fraudulent', feeMinor: 1500n });
    expect(await applyPspDisputeState(deps, open, created.event)).toBe('opened');
    expect(await applyPspDisputeState(deps, open, created.event)).toBe('duplicate_webhook');
    expect((await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).status).toBe('DISPUTED');
    // The PSP closes the dispute in the merchant's favour.
    await simulator.admin(`/__admin/disputes/${open.pspDisputeId}/close`, { outcome: 'won' });
    const closed = await simulator.psp.retrieveDispute(open.pspDisputeId);
    expect(closed).toMatchObject({ status: 'won', pspStatus: 'won', amountMinor: 10000n });
    expect(await applyPspDisputeState(deps, closed, null)).toBe('won');
    expect(await applyPspDisputeState(deps, closed, null)).toBe('unchanged');
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
  // A payout the payouts subgraph made at the PSP, and the PSP's payout.paid webhook.
  const payoutId = `payout_${++counter}`;
  const payout = await simulator.stripe.payouts.create({ amount: 1000, currency: 'usd', metadata: { payoutId } });
  const { event } = await simulator.webhook('payout.paid', payout.id);
  expect(await forwardPayoutWebhook(deps, event)).toBe('forwarded');
  expect(await forwardPayoutWebhook(deps, event)).toBe('duplicate_webhook');
  const rows = await prisma.outboxMessage.findMany({ where: { eventType: 'psp.payout_updated', correlationId: payoutId } });
  expect(rows.filter((row) => (row.payload as { pspEventId: string }).pspEventId === event.id)).toHaveLength(1);
});
