// The payment lifecycle against the real PSP simulator (in-process, its own database) through the
// official SDK, as in the service: its signed webhooks are caught by a local receiver and handed
// to the webhook endpoint's handler in the order a test chooses (late, reordered or dropped
// deliveries), and its fault injection makes the PSP answer with server errors.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPgDatabase, type Caller, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, waitFor, type TestDatabase } from '@clearhouse/shared/testkit';
import { createStripePsp } from '../psp/stripe.js';
import { cancelPayment } from './cancel-payment.js';
import { createCheckout } from './create-checkout.js';
import type { PaymentsDeps } from './deps.js';
import { testPaymentsDeps } from './deps.test-support.js';
import { handleStripeWebhook } from './webhooks.js';

// The simulator's own sources (as abandoned-registrations.test.ts loads them): it is not a dependency of this package.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulatorModule = require('../../../../psp-simulator/src/server.ts') as { startSimulator(options: Record<string, unknown>): Promise<{ url: string; stop(): Promise<void> }> };
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulatorDb = require('../../../../psp-simulator/src/store/db.ts') as { dropDatabase(url: string): Promise<void> };

const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const WEBHOOK_SECRET = 'whsec_lifecycle';
const DISPUTE_CARD = '4000000000000259';
const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };

interface CaughtWebhook {
  type: string;
  id: string;
  body: Buffer;
  signature: string;
}

let database: TestDatabase;
let pg: PgDatabase;
let simulator: { url: string; stop(): Promise<void> };
let simulatorDatabaseUrl: string;
let receiver: Server;
const caught: CaughtWebhook[] = [];
let deps: PaymentsDeps;
let counter = 0;

async function readAll(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

async function admin(path: string, body: unknown, method = 'POST'): Promise<void> {
  const response = await fetch(`${simulator.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'DELETE' ? null : JSON.stringify(body) });
  if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
}

async function payOnHostedPage(checkoutUrl: string, cardNumber: string): Promise<void> {
  const body = new URLSearchParams({ card_number: cardNumber, exp_month: '12', exp_year: String(new Date().getUTCFullYear() + 3), cvc: '123' });
  const response = await fetch(checkoutUrl, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
  await response.text();
  if (response.status >= 400) throw new Error(`hosted page answered ${response.status}`);
}

function caughtFor(paymentIntentId: string, type: string): CaughtWebhook | undefined {
  return caught.find((webhook) => webhook.type === type && webhook.body.toString('utf8').includes(paymentIntentId));
}

async function deliver(webhook: CaughtWebhook) {
  return handleStripeWebhook(deps, webhook.body, webhook.signature);
}

async function rows<T>(sql: string, ...params: unknown[]): Promise<T[]> {
  return pg.$queryRawUnsafe<T[]>(sql, ...params);
}

const input = () => ({ idempotencyKey: `life-${++counter}`, buyerId: `buyer-${counter}`, currency: 'USD', orders: [{ sellerId: 's1', amountMinor: 6000n }, { sellerId: 's2', amountMinor: 4000n }] });

async function registeredPayment() {
  const created = await createCheckout(deps, { caller: platform, input: input() });
  expect(created.userErrors).toEqual([]);
  const payment = await deps.store.findPayment(created.paymentId!);
  expect(payment).toMatchObject({ status: 'REQUIRES_PAYMENT' });
  return payment!;
}

beforeAll(async () => {
  database = await createTestDatabase('payments');
  pg = createPgDatabase(database.url, { poolMax: 10 });
  receiver = createServer((request, response) => {
    void readAll(request).then((body) => {
      const event = JSON.parse(body.toString('utf8')) as { id: string; type: string };
      caught.push({ id: event.id, type: event.type, body, signature: String(request.headers['stripe-signature'] ?? '') });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const webhookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/stripe`;
  simulatorDatabaseUrl = `${POSTGRES_URL}/clearhouse_test_psp_${randomBytes(6).toString('hex')}`;
  simulator = await simulatorModule.startSimulator({ port: 0, host: '127.0.0.1', databaseUrl: simulatorDatabaseUrl, webhookUrl, webhookSecret: WEBHOOK_SECRET, logLevel: 'silent', config: { disputeDelayMs: 50 } });
  const psp = createStripePsp({ apiKey: 'sk_test_lifecycle', apiBase: simulator.url, timeoutMs: 2_000, webhookSecret: WEBHOOK_SECRET });
  deps = testPaymentsDeps(pg, psp, { pspPolicy: { attemptsMax: 2, timeoutMs: 2_000, backoffMsBase: 1, backoffMsMax: 2 } });
});

afterEach(async () => {
  await admin('/__admin/faults', null, 'DELETE');
});

afterAll(async () => {
  await simulator?.stop();
  await simulatorDb?.dropDatabase(simulatorDatabaseUrl).catch(() => undefined);
  await new Promise<void>((resolve) => (receiver ? receiver.close(() => resolve()) : resolve()));
  await pg?.end();
  await database?.drop();
});

test('a chargeback whose webhook arrives before the payment\'s success webhook is recorded, not dropped: the PSP\'s state is authoritative', async () => {
  const payment = await registeredPayment();
  const intentId = payment.pspPaymentIntentId!;
  await payOnHostedPage(payment.checkoutUrl!, DISPUTE_CARD);
  const disputeCreated = await waitFor(async () => caughtFor(intentId, 'charge.dispute.created'), 'the dispute webhook');
  const succeeded = caughtFor(intentId, 'payment_intent.succeeded');
  expect(succeeded).toBeDefined();

  // The success webhook is late (delayed, reordered or dropped): the chargeback arrives first.
  const answer = await deliver(disputeCreated);
  expect(answer.status).toBe(200);
  const afterDispute = await deps.store.findPayment(payment.id);
  expect(afterDispute?.status).toBe('DISPUTED');
  const disputes = await rows<{ status: string; status_before: string }>('SELECT status, status_before FROM disputes WHERE payment_id = $1', payment.id);
  expect(disputes).toEqual([{ status: 'OPEN', status_before: 'SUCCEEDED' }]);
  const events = await rows<{ event_type: string }>('SELECT event_type FROM outbox_messages WHERE correlation_id = $1', payment.id);
  // The ledger learns of the payment before its chargeback (separate commits, in that order).
  expect(events.filter((event) => event.event_type === 'payment.succeeded')).toHaveLength(1);
  expect(events.filter((event) => event.event_type === 'dispute.opened')).toHaveLength(1);

  // The late success webhook moves nothing back, and a redelivery of the chargeback is a duplicate.
  expect((await deliver(succeeded!)).status).toBe(200);
  expect(await deliver(disputeCreated)).toEqual({ status: 200, body: { received: true, duplicate: true } });
  expect((await deps.store.findPayment(payment.id))?.status).toBe('DISPUTED');
  expect(await rows('SELECT id FROM disputes WHERE payment_id = $1', payment.id)).toHaveLength(1);
});

test('cancelPayment succeeds once the PSP recovers from a server error on the session\'s expiry (a replayed 5xx needs a new PSP key)', async () => {
  const payment = await registeredPayment();
  // Stripe stores a 500 under its idempotency key and replays it for 24 hours.
  await admin('/__admin/faults', { apiErrorRate: 1, paths: [`/v1/checkout/sessions/${payment.pspCheckoutSessionId}/expire`] });
  const failed = await cancelPayment(deps, platform, { idempotencyKey: `cancel-${counter}`, paymentId: payment.id });
  expect(failed.userErrors.map((error) => error.code)).toEqual(['PSP_UNAVAILABLE']);
  expect((await deps.store.findPayment(payment.id))?.status).toBe('REQUIRES_PAYMENT');

  await admin('/__admin/faults', null, 'DELETE');
  const retried = await cancelPayment(deps, platform, { idempotencyKey: `cancel-${counter}`, paymentId: payment.id });
  expect(retried).toEqual({ paymentId: payment.id, userErrors: [], replayed: false });
  expect(await deps.store.findPayment(payment.id)).toMatchObject({ status: 'CANCELED', checkoutUrl: null });
});

test('a key reused past its retention with another input is IDEMPOTENCY_KEY_REUSED, not the old payment passed off as the new checkout', async () => {
  const first = { ...input(), returnUrl: 'https://shop.example/return', metadata: { cart: 'c1', weight: 1.5, lines: [{ sku: 'b', qty: 2 }], a: null } };
  const created = await createCheckout(deps, { caller: platform, input: first });
  expect(created.userErrors).toEqual([]);
  const forgetKey = () => pg.$executeRawUnsafe('DELETE FROM idempotency_keys WHERE caller_id = $1 AND key = $2', platform.keyId, first.idempotencyKey);
  // The key row is gone after its retention (≥ 24 h); the payment made under the key stays.
  await forgetKey();
  // The same input (metadata keys in another order) still finds its payment.
  const again = await createCheckout(deps, { caller: platform, input: { ...first, metadata: { a: null, lines: [{ qty: 2, sku: 'b' }], weight: 1.5, cart: 'c1' } } });
  expect({ paymentId: again.paymentId, userErrors: again.userErrors }).toEqual({ paymentId: created.paymentId, userErrors: [] });

  await forgetKey();
  const before = { payments: await rows('SELECT id, status, version FROM payments ORDER BY id'), orders: await rows('SELECT id FROM payment_orders ORDER BY id'), timeline: await rows('SELECT id FROM timeline_events ORDER BY id'), outbox: await rows('SELECT id FROM outbox_messages ORDER BY id') };
  for (const other of [
    { ...first, orders: [{ sellerId: 's9', amountMinor: 150_000n }] },
    { ...first, orders: [...first.orders].reverse() },
    { ...first, buyerId: 'someone-else' },
    { ...first, metadata: { cart: 'c2' } },
    { ...first, returnUrl: null },
  ]) {
    // Each time as the first use of the key since its row was deleted.
    await forgetKey();
    await expect(createCheckout(deps, { caller: platform, input: other })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', field: ['input', 'idempotencyKey'] });
  }
  const after = { payments: await rows('SELECT id, status, version FROM payments ORDER BY id'), orders: await rows('SELECT id FROM payment_orders ORDER BY id'), timeline: await rows('SELECT id FROM timeline_events ORDER BY id'), outbox: await rows('SELECT id FROM outbox_messages ORDER BY id') };
  expect(after).toEqual(before);
});
