// A refund that succeeded and then failed at the PSP (Stripe's test card 4000 0000 0000 5126: the
// card issuer rejects the refund later and the PSP sends refund.updated / refund.failed). Against a
// real payments database and the real PSP simulator, whose signed webhooks go through the
// service's webhook handler: the refund becomes FAILED, the order's and the payment's refunded
// amounts and statuses go back, and refund.reversed@1 carries the split to undo, once; the refund
// row keeps that split too, beside its own plan.
import { PrismaPg } from '@prisma/adapter-pg';
import { createPgDatabase, type Caller, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, waitFor, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import { confirmDelivery } from './delivery.js';
import { applyPspDisputeState } from './disputes.js';
import type { PaymentsDeps } from './deps.js';
import { testPaymentsDeps } from './deps.test-support.js';
import { applyPspRefundState, refundPaymentOrder } from './refunds.js';
import { paidCheckout, SIMULATOR_PSP_POLICY, startPaymentsSimulator, TEST_CARDS, type PaymentsSimulator } from './simulator.test-support.js';
import { handleStripeWebhook } from './webhooks.js';

let database: TestDatabase;
let pg: PgDatabase;
let prisma: PrismaClient;
let simulator: PaymentsSimulator;
let deps: PaymentsDeps;
const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };
let counter = 0;

async function paidWithRefundFailureCard(amounts: bigint[]) {
  counter += 1;
  const input = { idempotencyKey: `k${counter}`, buyerId: `b${counter}`, currency: 'USD', orders: amounts.map((amountMinor, i) => ({ sellerId: `s${i}`, amountMinor })) };
  const { paymentId, paymentIntentId } = await paidCheckout(deps, platform, input, TEST_CARDS.refundFails);
  const orders = await prisma.paymentOrder.findMany({ where: { paymentId }, orderBy: { position: 'asc' } });
  return { paymentId, paymentIntentId, orders };
}

async function events(paymentId: string, type: string) {
  return prisma.outboxMessage.findMany({ where: { correlationId: paymentId, eventType: type }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}

async function refund(paymentOrderId: string, amountMinor?: bigint) {
  return refundWithIdempotencyKey(`r${counter}-${paymentOrderId}`, paymentOrderId, amountMinor);
}

async function refundWithIdempotencyKey(idempotencyKey: string, paymentOrderId: string, amountMinor?: bigint) {
  const result = await refundPaymentOrder(deps, platform, { idempotencyKey, paymentOrderId, amountMinor: amountMinor ?? null });
  expect(result.userErrors).toEqual([]);
  const row = await prisma.refund.findUniqueOrThrow({ where: { id: result.id! } });
  // The PSP answers the creation with `succeeded` already: settled at once.
  expect(row.status).toBe('SUCCEEDED');
  return row;
}

/**
 * A chargeback of the payment itself, opened at the PSP through the simulator's admin route on the
 * intent's charge (a refund-failure-card payment gets no dispute of its own) for `amountMinor`,
 * announced by charge.dispute.created like any dispute; `read` is the PSP's state of it.
 */
async function chargebackOf(paymentIntentId: string, amountMinor: bigint) {
  const chargeId = (await simulator.stripe.paymentIntents.retrieve(paymentIntentId)).latest_charge as string;
  const opened = (await simulator.admin(`/__admin/charges/${chargeId}/dispute`, { amount: Number(amountMinor) })) as { id: string };
  const created = await simulator.webhook('charge.dispute.created', opened.id);
  expect(created.event.paymentIntentId).toBe(paymentIntentId);
  const pspDisputeId = created.event.objectId!;
  const read = () => simulator.psp.retrieveDispute(pspDisputeId);
  return { pspDisputeId, read };
}

/**
 * Each refund.reversed@1 of the payment is on its refund row too: the split the reversal actually
 * made (which can differ from the refund's own plan, kept beside it). Returns the rows, by event.
 */
async function expectRowsCarryTheirReversals(paymentId: string) {
  const reversed = await events(paymentId, 'refund.reversed');
  expect(reversed.length).toBeGreaterThan(0);
  const rows = [];
  for (const event of reversed) {
    const payload = event.payload as { refundId: string; feeRefundMinor: string; pendingMinor: string; availableMinor: string };
    const row = await prisma.refund.findUniqueOrThrow({ where: { id: payload.refundId } });
    expect(row).toMatchObject({
      status: 'FAILED',
      reversalFeeRefundMinor: BigInt(payload.feeRefundMinor),
      reversalPendingMinor: BigInt(payload.pendingMinor),
      reversalAvailableMinor: BigInt(payload.availableMinor),
    });
    rows.push(row);
  }
  return rows;
}

const NO_REVERSAL = { reversalFeeRefundMinor: null, reversalPendingMinor: null, reversalAvailableMinor: null };

/** The PSP's refund.failed webhook about a refund, handed to the service's webhook handler as delivered. */
async function deliverFailure(pspRefundId: string) {
  const webhook = await simulator.webhook('refund.failed', pspRefundId);
  return handleStripeWebhook(deps, webhook.body, webhook.signature);
}

beforeAll(async () => {
  database = await createTestDatabase('payments');
  pg = createPgDatabase(database.url, { poolMax: 10 });
  prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: database.url, max: 10 }) });
  simulator = await startPaymentsSimulator({ config: { refundDelayMs: 50 } });
});

beforeEach(() => {
  deps = testPaymentsDeps(pg, simulator.psp, { pspPolicy: SIMULATOR_PSP_POLICY, aftersale: { deliveryHoldMs: 0, refundFeePolicy: 'platform_returns_fee_pro_rata', disputeFeeBorneBy: 'platform', disputeLossBorneBy: 'seller' } });
});

afterAll(async () => {
  await simulator?.stop();
  await pg?.end();
  await prisma?.$disconnect();
  await database?.drop();
});

describe('a succeeded refund that fails at the PSP', () => {
  test('REFUNDED → SUCCEEDED: FAILED with its history, amounts back, refund.reversed@1 once; a repeated or late webhook changes nothing', async () => {
    const { paymentId, paymentIntentId, orders } = await paidWithRefundFailureCard([5000n]);
    const succeeded = await refund(orders[0]!.id);
    expect(await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).toMatchObject({ status: 'REFUNDED', refundedAmountMinor: 5000n });

    const answer = await deliverFailure(succeeded.pspRefundId!);
    expect(answer.status).toBe(200);

    const failed = await prisma.refund.findUniqueOrThrow({ where: { id: succeeded.id } });
    expect(failed).toMatchObject({ status: 'FAILED', failureCode: 'expired_or_canceled_card', succeededAt: succeeded.succeededAt, feeRefundMinor: 145n, pendingMinor: 4855n, availableMinor: 0n });
    expect(failed.failedAt).toBeInstanceOf(Date);
    expect(succeeded).toMatchObject(NO_REVERSAL);
    // What the reversal did is on the row beside the refund's own plan (here the same split).
    expect(failed).toMatchObject({ reversalFeeRefundMinor: 145n, reversalPendingMinor: 4855n, reversalAvailableMinor: 0n });
    const order = await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orders[0]!.id } });
    expect(order).toMatchObject({ status: 'SUCCEEDED', refundedAmountMinor: 0n, reservedRefundMinor: 0n, pendingHeldMinor: 4855n });
    expect(await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).toMatchObject({ status: 'SUCCEEDED', refundedAmountMinor: 0n });

    const reversed = await events(paymentId, 'refund.reversed');
    expect(reversed.map((event) => event.payload)).toEqual([
      expect.objectContaining({
        refundId: succeeded.id, paymentOrderId: orders[0]!.id, sellerId: 's0', currency: 'USD', amountMinor: '5000',
        feeRefundMinor: '145', pendingMinor: '4855', availableMinor: '0', pspRefundId: succeeded.pspRefundId, failureReason: 'expired_or_canceled_card',
      }),
    ]);
    const statuses = (await events(paymentId, 'payment.status_changed')).map((event) => event.payload as { from: string; to: string; refundedAmountMinor: string });
    expect(statuses.slice(-2)).toEqual([
      expect.objectContaining({ from: 'SUCCEEDED', to: 'REFUNDED', refundedAmountMinor: '5000' }),
      expect.objectContaining({ from: 'REFUNDED', to: 'SUCCEEDED', refundedAmountMinor: '0' }),
    ]);
    // payment.succeeded@1 is not announced a second time: the payment was collected once.
    expect(await events(paymentId, 'payment.succeeded')).toHaveLength(1);
    const timeline = await prisma.timelineEvent.findMany({ where: { paymentId, type: 'refund.reversed' } });
    expect(timeline).toHaveLength(1);
    expect(timeline[0]!.message).toContain('expired_or_canceled_card');

    // The same webhook again, the refund.updated about the same failure, and a late `succeeded`: nothing more.
    const outboxBefore = await prisma.outboxMessage.count({ where: { correlationId: paymentId } });
    await deliverFailure(succeeded.pspRefundId!);
    const updated = await waitFor(async () => simulator.webhooks.find(({ event }) => event.type === 'refund.updated' && event.objectId === succeeded.pspRefundId), 'refund.updated', 5_000);
    await handleStripeWebhook(deps, updated.body, updated.signature);
    const [pspState] = await simulator.refundsOf(paymentIntentId);
    expect(pspState?.status).toBe('failed');
    expect((await applyPspRefundState(deps, succeeded.id, { ...pspState!, status: 'succeeded' }, 'late succeeded')).kind).toBe('unchanged');
    expect((await applyPspRefundState(deps, succeeded.id, pspState!, 'duplicate')).kind).toBe('unchanged');
    expect(await prisma.outboxMessage.count({ where: { correlationId: paymentId } })).toBe(outboxBefore);
    expect(await prisma.refund.findUniqueOrThrow({ where: { id: succeeded.id } })).toMatchObject({ status: 'FAILED', failedAt: failed.failedAt });
    expect(await prisma.refund.findUniqueOrThrow({ where: { id: succeeded.id } })).toEqual(failed);
    expect(await expectRowsCarryTheirReversals(paymentId)).toEqual([failed]);
    expect(await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).toMatchObject({ status: 'SUCCEEDED', refundedAmountMinor: 0n });
  });

  test('an order released after its refund gets the seller part back in available; the other refund keeps the payment PARTIALLY_REFUNDED', async () => {
    const { paymentId, orders } = await paidWithRefundFailureCard([6000n, 4000n]);
    const first = await refund(orders[0]!.id, 1000n);
    const second = await refund(orders[1]!.id);
    // Order 0 is delivered (no hold: released at once) after its refund took 971 from pending.
    expect((await confirmDelivery(deps, platform, { idempotencyKey: `d${counter}`, paymentOrderId: orders[0]!.id })).userErrors).toEqual([]);
    expect(await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orders[0]!.id } })).toMatchObject({ status: 'DELIVERED', pendingHeldMinor: 0n });
    expect(await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmountMinor: 5000n });

    await deliverFailure(first.pspRefundId!);
    expect(await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orders[0]!.id } })).toMatchObject({ status: 'DELIVERED', refundedAmountMinor: 0n, pendingHeldMinor: 0n });
    expect(await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmountMinor: 4000n });
    const [reversal] = await events(paymentId, 'refund.reversed');
    expect(reversal?.payload).toMatchObject({ refundId: first.id, amountMinor: '1000', feeRefundMinor: '29', pendingMinor: '0', availableMinor: '971' });
    // The row keeps the refund's plan (taken from pending) and adds the reversal (given back to available).
    expect(await prisma.refund.findUniqueOrThrow({ where: { id: first.id } })).toMatchObject({
      feeRefundMinor: 29n, pendingMinor: 971n, availableMinor: 0n, reversalFeeRefundMinor: 29n, reversalPendingMinor: 0n, reversalAvailableMinor: 971n,
    });
    expect(await prisma.refund.findUniqueOrThrow({ where: { id: second.id } })).toMatchObject({ status: 'SUCCEEDED', ...NO_REVERSAL });
    // The payment keeps its status but its refunded amount changed: announced too.
    expect((await events(paymentId, 'payment.status_changed')).at(-1)?.payload).toMatchObject({ from: 'PARTIALLY_REFUNDED', to: 'PARTIALLY_REFUNDED', refundedAmountMinor: '4000' });

    await deliverFailure(second.pspRefundId!);
    expect(await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orders[1]!.id } })).toMatchObject({ status: 'SUCCEEDED', refundedAmountMinor: 0n, pendingHeldMinor: 3884n });
    expect(await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).toMatchObject({ status: 'SUCCEEDED', refundedAmountMinor: 0n });
    expect((await events(paymentId, 'refund.reversed')).map((event) => (event.payload as { refundId: string }).refundId)).toEqual([first.id, second.id]);
    expect((await expectRowsCarryTheirReversals(paymentId)).map((row) => row.id)).toEqual([first.id, second.id]);
  });

  test('pro rata: a reversed partial refund takes back its share of the fee at what stays refunded; the full refund after it returns exactly the rest of the fee', async () => {
    // 6000 USD, fee 174: 1 returns no fee, 34 more cross the first unit (floor(174 × 35 / 6000) = 1).
    const { paymentId, orders } = await paidWithRefundFailureCard([6000n]);
    const orderId = orders[0]!.id;
    expect(orders[0]).toMatchObject({ feeMinor: 174n, pendingHeldMinor: 5826n });
    const reversedOne = await refundWithIdempotencyKey(`r${counter}-first`, orderId, 1n);
    // On this card every refund fails at the PSP after refundDelayMs: the other two fail only long after the test.
    await simulator.config({ refundDelayMs: 3_600_000 });
    const full = await (async () => {
      try {
        const kept = await refundWithIdempotencyKey(`r${counter}-kept`, orderId, 34n);
        expect(kept).toMatchObject({ feeRefundMinor: 1n, pendingMinor: 33n, availableMinor: 0n });
        await deliverFailure(reversedOne.pspRefundId!);
        // 34 stay refunded, whose share of the fee is floor(174 × 34 / 6000) = 0: the reversal takes back the unit returned.
        const [reversal] = await events(paymentId, 'refund.reversed');
        expect(reversal?.payload).toMatchObject({ refundId: reversedOne.id, amountMinor: '1', feeRefundMinor: '1', pendingMinor: '0', availableMinor: '0' });
        // Finance reads it off the row: the refund returned no fee and took 1 from pending; its reversal took the fee unit back.
        expect(await prisma.refund.findUniqueOrThrow({ where: { id: reversedOne.id } })).toMatchObject({
          status: 'FAILED', feeRefundMinor: 0n, pendingMinor: 1n, availableMinor: 0n, reversalFeeRefundMinor: 1n, reversalPendingMinor: 0n, reversalAvailableMinor: 0n,
        });
        expect(await prisma.refund.findUniqueOrThrow({ where: { id: kept.id } })).toMatchObject({ status: 'SUCCEEDED', ...NO_REVERSAL });
        expect(await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orderId } })).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmountMinor: 34n, pendingHeldMinor: 5792n });
        return await refundWithIdempotencyKey(`r${counter}-rest`, orderId);
      } finally {
        await simulator.config({ refundDelayMs: 50 });
      }
    })();
    expect(full).toMatchObject({ amountMinor: 5966n, feeRefundMinor: 174n, pendingMinor: 5792n, availableMinor: 0n });
    const order = await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orderId } });
    expect(order).toMatchObject({ status: 'REFUNDED', refundedAmountMinor: 6000n, reservedRefundMinor: 0n, pendingHeldMinor: 0n });
    const succeededRows = await prisma.refund.findMany({ where: { paymentOrderId: orderId, status: 'SUCCEEDED' } });
    expect(succeededRows.reduce((sum, row) => sum + row.amountMinor, 0n)).toBe(order.refundedAmountMinor);
    for (const row of succeededRows) expect(row).toMatchObject(NO_REVERSAL);
    expect((await expectRowsCarryTheirReversals(paymentId)).map((row) => row.id)).toEqual([reversedOne.id]);
    // What the events tell the ledger and the wallet: the whole fee returned, the seller's net taken back, once each.
    type Split = { feeRefundMinor: string; pendingMinor: string; availableMinor: string };
    const total = async (type: string, part: keyof Split) => (await events(paymentId, type)).reduce((sum, event) => sum + BigInt((event.payload as Split)[part]), 0n);
    expect((await total('refund.succeeded', 'feeRefundMinor')) - (await total('refund.reversed', 'feeRefundMinor'))).toBe(174n);
    const sellerTaken = (await total('refund.succeeded', 'pendingMinor')) + (await total('refund.succeeded', 'availableMinor'));
    const sellerBack = (await total('refund.reversed', 'pendingMinor')) + (await total('refund.reversed', 'availableMinor'));
    expect(sellerTaken - sellerBack).toBe(5826n);
  });

  test.each([
    { refunds: [1000n], statusBefore: 'SUCCEEDED', refundedAfter: 0n },
    { refunds: [1000n, 500n], statusBefore: 'PARTIALLY_REFUNDED', refundedAfter: 500n },
  ])('DISPUTED (refunds $refunds, the first reversed): stays DISPUTED, the dispute returns it to $statusBefore when won', async ({ refunds, statusBefore, refundedAfter }) => {
    const { paymentId, paymentIntentId, orders } = await paidWithRefundFailureCard([5000n]);
    const orderId = orders[0]!.id;
    const refunded = [];
    for (const [i, amountMinor] of refunds.entries()) refunded.push(await refundWithIdempotencyKey(`r${counter}-${i}`, orderId, amountMinor));
    const refundedBefore = refunds.reduce((sum, amount) => sum + amount, 0n);
    expect(await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmountMinor: refundedBefore });

    // The PSP disputes what is left of the charge: captured − refunded (named: by now the simulator
    // may have failed the refund already, making its whole amount disputable again).
    const heldBeforeDispute = (await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orderId } })).pendingHeldMinor;
    const chargeback = await chargebackOf(paymentIntentId, 5000n - refundedBefore);
    const open = await chargeback.read();
    expect(open).toMatchObject({ amountMinor: 5000n - refundedBefore, status: 'open' });
    expect(await applyPspDisputeState(deps, open, null)).toBe('opened');
    expect(await prisma.dispute.findUniqueOrThrow({ where: { pspDisputeId: chargeback.pspDisputeId } })).toMatchObject({ status: 'OPEN', statusBefore: 'PARTIALLY_REFUNDED' });
    const heldBeforeReversal = (await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orderId } })).pendingHeldMinor;
    const outboxBefore = await prisma.outboxMessage.count({ where: { correlationId: paymentId } });

    const reversedRefund = refunded[0]!;
    expect((await deliverFailure(reversedRefund.pspRefundId!)).status).toBe(200);
    expect(await prisma.refund.findUniqueOrThrow({ where: { id: reversedRefund.id } })).toMatchObject({ status: 'FAILED', failureCode: 'expired_or_canceled_card' });
    expect((await expectRowsCarryTheirReversals(paymentId)).map((row) => row.id)).toEqual([reversedRefund.id]);
    expect(await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orderId } })).toMatchObject({ refundedAmountMinor: refundedAfter, reservedRefundMinor: 0n });
    expect(await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).toMatchObject({ status: 'DISPUTED', refundedAmountMinor: refundedAfter });
    expect(await prisma.dispute.findUniqueOrThrow({ where: { pspDisputeId: chargeback.pspDisputeId } })).toMatchObject({ status: 'OPEN', statusBefore });
    const reversed = await events(paymentId, 'refund.reversed');
    expect(reversed.map((event) => event.payload)).toEqual([expect.objectContaining({ refundId: reversedRefund.id, paymentOrderId: orderId, amountMinor: '1000', failureReason: 'expired_or_canceled_card' })]);
    const split = reversed[0]!.payload as { pendingMinor: string; availableMinor: string };
    expect(await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orderId } })).toMatchObject({ pendingHeldMinor: heldBeforeReversal + BigInt(split.pendingMinor) });
    expect((await events(paymentId, 'payment.status_changed')).at(-1)?.payload).toMatchObject({ from: 'DISPUTED', to: 'DISPUTED', refundedAmountMinor: refundedAfter.toString() });
    // The reversal, the announcement of the refunded amount: nothing else.
    expect(await prisma.outboxMessage.count({ where: { correlationId: paymentId } })).toBe(outboxBefore + 2);
    // The same webhook again: nothing more.
    await deliverFailure(reversedRefund.pspRefundId!);
    expect(await prisma.outboxMessage.count({ where: { correlationId: paymentId } })).toBe(outboxBefore + 2);

    // The PSP closes the dispute in the merchant's favour: the payment returns to what the refunds leave.
    await simulator.admin(`/__admin/disputes/${chargeback.pspDisputeId}/close`, { outcome: 'won' });
    const won = await chargeback.read();
    expect(won).toMatchObject({ status: 'won' });
    expect(await applyPspDisputeState(deps, won, null)).toBe('won');
    expect(await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).toMatchObject({ status: statusBefore, refundedAmountMinor: refundedAfter });
    expect((await events(paymentId, 'payment.status_changed')).at(-1)?.payload).toMatchObject({ from: 'DISPUTED', to: statusBefore, refundedAmountMinor: refundedAfter.toString() });
    // The order holds what it held before the dispute, plus what the reversal gave back.
    expect(await prisma.paymentOrder.findUniqueOrThrow({ where: { id: orderId } })).toMatchObject({ pendingHeldMinor: heldBeforeDispute + BigInt(split.pendingMinor) });
    expect(await events(paymentId, 'refund.reversed')).toHaveLength(1);
  });
});
