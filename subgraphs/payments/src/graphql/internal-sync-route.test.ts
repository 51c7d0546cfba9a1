// The internal re-sync route the ledger's reconciliation calls, served over real HTTP against a
// real payments database and the real PSP simulator: a refund that failed at the PSP after it
// succeeded, whose refund.failed webhook never reached payments (Stripe's test card
// 4000 0000 0000 5126), is re-read from the PSP by its PSP id and reversed once; bad or unsigned
// requests are refused and write nothing.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { PrismaPg } from '@prisma/adapter-pg';
import { createPgDatabase, signCaller, systemCaller, type Caller, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, waitFor, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import type { PaymentsDeps } from '../application/deps.js';
import { testPaymentsDeps } from '../application/deps.test-support.js';
import { refundPaymentOrder } from '../application/refunds.js';
import { paidCheckout, SIMULATOR_PSP_POLICY, startPaymentsSimulator, TEST_CARDS, type PaymentsSimulator } from '../application/simulator.test-support.js';
import { internalSyncRoute } from './internal-sync-route.js';

jest.setTimeout(60_000);

const SECRET = 'internal-signing-secret-for-tests';
const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };

let database: TestDatabase;
let pg: PgDatabase;
let prisma: PrismaClient;
let simulator: PaymentsSimulator;
let deps: PaymentsDeps;
let server: Server;
let url: string;

async function readAll(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

beforeAll(async () => {
  database = await createTestDatabase('payments');
  pg = createPgDatabase(database.url, { poolMax: 5 });
  prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: database.url, max: 5 }) });
  simulator = await startPaymentsSimulator({ config: { refundDelayMs: 50 } });
  deps = testPaymentsDeps(pg, simulator.psp, { pspPolicy: SIMULATOR_PSP_POLICY });
  const route = internalSyncRoute(deps, SECRET);
  server = createServer((request, response) => {
    void readAll(request).then((body) => route.handle(request, response, body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${route.path}`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server?.close(() => resolve()));
  await simulator?.stop();
  await pg?.end();
  await prisma?.$disconnect();
  await database?.drop();
});

async function post(body: string, headers: Record<string, string> = signCaller(systemCaller('ledger'), SECRET, { method: 'POST', url, body })) {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** What a request may have written: outbox events, refund and payment rows. */
async function snapshot() {
  return {
    outbox: await prisma.outboxMessage.count(),
    refunds: await prisma.refund.findMany({ orderBy: { id: 'asc' } }),
    payments: await prisma.payment.findMany({ orderBy: { id: 'asc' } }),
  };
}

describe('POST /internal/payments/sync-psp {"pspRefundId"}', () => {
  test('a succeeded refund the PSP reports failed (webhook lost) is reversed once; again it is unchanged', async () => {
    const { paymentId, paymentIntentId } = await paidCheckout(deps, platform, { idempotencyKey: 'k1', buyerId: 'b1', currency: 'USD', orders: [{ sellerId: 's1', amountMinor: 5000n }] }, TEST_CARDS.refundFails);
    const [order] = await prisma.paymentOrder.findMany({ where: { paymentId } });
    const refunded = await refundPaymentOrder(deps, platform, { idempotencyKey: 'r1', paymentOrderId: order!.id });
    expect(refunded.userErrors).toEqual([]);
    const refund = await prisma.refund.findUniqueOrThrow({ where: { id: refunded.id! } });
    expect(refund.status).toBe('SUCCEEDED');
    // The PSP fails it after refundDelayMs; its webhooks are never handed to payments.
    await waitFor(async () => ((await simulator.refundsOf(paymentIntentId))[0]?.status === 'failed' ? true : undefined), 'refund failed at the PSP', 5_000);

    const first = await post(JSON.stringify({ pspRefundId: refund.pspRefundId }));
    expect(first).toEqual({ status: 200, json: { outcome: 'reversed', refundId: refund.id, status: 'FAILED', reversed: true } });
    expect(await prisma.refund.findUniqueOrThrow({ where: { id: refund.id } })).toMatchObject({ status: 'FAILED', failureCode: 'expired_or_canceled_card', succeededAt: refund.succeededAt });
    expect(await prisma.payment.findUniqueOrThrow({ where: { id: paymentId } })).toMatchObject({ status: 'SUCCEEDED', refundedAmountMinor: 0n });
    const reversed = await prisma.outboxMessage.findMany({ where: { correlationId: paymentId, eventType: 'refund.reversed' } });
    expect(reversed.map((event) => event.payload)).toEqual([expect.objectContaining({ refundId: refund.id, pspRefundId: refund.pspRefundId, amountMinor: '5000' })]);

    const before = await snapshot();
    const again = await post(JSON.stringify({ pspRefundId: refund.pspRefundId }));
    expect(again).toEqual({ status: 200, json: { outcome: 'unchanged', refundId: refund.id, status: 'FAILED', reversed: true } });
    expect(await snapshot()).toEqual(before);
  });

  test('bad, unsigned or mis-signed requests and unknown refunds are refused with a clear answer and write nothing', async () => {
    const before = await snapshot();
    const body = JSON.stringify({ pspRefundId: 're_doesnotexist' });
    expect(await post(body, {})).toEqual({ status: 401, json: { error: 'signed system caller required' } });
    // Signed for another body than the one sent.
    const signedForOther = signCaller(systemCaller('ledger'), SECRET, { method: 'POST', url, body: JSON.stringify({ pspRefundId: 're_other' }) });
    expect((await post(body, signedForOther)).status).toBe(401);
    for (const bad of ['{', '{}', JSON.stringify({ pspRefundId: 'pi_123' }), JSON.stringify({ pspRefundId: 42 }), JSON.stringify({ pspRefundId: 're_1', paymentIntentId: 'pi_1' })]) {
      const answer = await post(bad);
      expect(answer.status).toBe(400);
      expect(answer.json.error).toMatch(/paymentIntentId.*pspRefundId/);
    }
    expect(await post(body)).toEqual({ status: 404, json: { error: 'the PSP does not know this refund' } });
    expect(await snapshot()).toEqual(before);
  });
});
