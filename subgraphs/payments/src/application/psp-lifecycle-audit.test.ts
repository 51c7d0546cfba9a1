// The payment lifecycle against the real PSP simulator (in-process, its own database) through the
// official SDK, as in the service (simulator.test-support.ts): its signed webhooks are caught and
// handed to the webhook endpoint's handler in the order a test chooses (late, reordered or dropped
// deliveries), and its fault injection makes the PSP answer with server errors.
import { createPgDatabase, type Caller, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { cancelPayment } from './cancel-payment.js';
import { createCheckout } from './create-checkout.js';
import type { PaymentsDeps } from './deps.js';
import { testPaymentsDeps } from './deps.test-support.js';
import { payOnHostedPage, SIMULATOR_PSP_POLICY, startPaymentsSimulator, TEST_CARDS, type CaughtWebhook, type PaymentsSimulator } from './simulator.test-support.js';
import { handleStripeWebhook } from './webhooks.js';

const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };

let database: TestDatabase;
let pg: PgDatabase;
let simulator: PaymentsSimulator;
let deps: PaymentsDeps;
let counter = 0;

function caughtFor(paymentIntentId: string, type: string): CaughtWebhook | undefined {
  return simulator.webhooks.find(({ event }) => event.type === type && event.paymentIntentId === paymentIntentId);
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
  simulator = await startPaymentsSimulator({ config: { disputeDelayMs: 50 } });
  deps = testPaymentsDeps(pg, simulator.psp, { pspPolicy: SIMULATOR_PSP_POLICY });
});

afterEach(async () => {
  await simulator.faults(null);
});

afterAll(async () => {
  await simulator?.stop();
  await pg?.end();
  await database?.drop();
});

test('a chargeback whose webhook arrives before the payment\'s success webhook is recorded, not dropped: the PSP\'s state is authoritative', async () => {
  const payment = await registeredPayment();
  const intentId = payment.pspPaymentIntentId!;
  await payOnHostedPage(payment.checkoutUrl!, TEST_CARDS.dispute);
  const disputeCreated = await simulator.webhook('charge.dispute.created', intentId);
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
  await simulator.faults({ apiErrorRate: 1, paths: [`/v1/checkout/sessions/${payment.pspCheckoutSessionId}/expire`] });
  const failed = await cancelPayment(deps, platform, { idempotencyKey: `cancel-${counter}`, paymentId: payment.id });
  expect(failed.userErrors.map((error) => error.code)).toEqual(['PSP_UNAVAILABLE']);
  expect((await deps.store.findPayment(payment.id))?.status).toBe('REQUIRES_PAYMENT');

  await simulator.faults(null);
  const retried = await cancelPayment(deps, platform, { idempotencyKey: `cancel-${counter}`, paymentId: payment.id });
  expect(retried).toEqual({ paymentId: payment.id, userErrors: [], replayed: false });
  expect(await deps.store.findPayment(payment.id)).toMatchObject({ status: 'CANCELED', checkoutUrl: null });
});

test('an amount the PSP would refuse (100,000 KWD: 100,000,000 minor units, nine digits, within the default risk limit) is INVALID_INPUT, and nothing is written here or at the PSP', async () => {
  const snapshot = async () => ({
    payments: await rows('SELECT id FROM payments ORDER BY id'),
    orders: await rows('SELECT id FROM payment_orders ORDER BY id'),
    timeline: await rows('SELECT id FROM timeline_events ORDER BY id'),
    outbox: await rows('SELECT id FROM outbox_messages ORDER BY id'),
    keys: await rows('SELECT key FROM idempotency_keys ORDER BY key'),
    pspSessions: ((await (await fetch(`${simulator.url}/v1/checkout/sessions?limit=100`, { headers: { authorization: 'Bearer sk_test_lifecycle' } })).json()) as { data: { id: string }[] }).data.map((session) => session.id),
  });
  const before = await snapshot();
  const tooLarge = { ...input(), currency: 'KWD', orders: [{ sellerId: 's1', amountMinor: 60_000_000n }, { sellerId: 's2', amountMinor: 40_000_000n }] };
  await expect(createCheckout(deps, { caller: platform, input: tooLarge })).rejects.toMatchObject({ code: 'INVALID_INPUT', userErrors: [expect.objectContaining({ code: 'INVALID_INPUT', field: ['input', 'orders'] })] });
  expect(await snapshot()).toEqual(before);
  // At the PSP's limit it is a checkout like any other.
  const atLimit = await createCheckout(deps, { caller: platform, input: { ...input(), currency: 'KWD', orders: [{ sellerId: 's1', amountMinor: 59_999_990n }, { sellerId: 's2', amountMinor: 40_000_000n }] } });
  expect(atLimit.userErrors).toEqual([]);
  expect(await deps.store.findPayment(atLimit.paymentId!)).toMatchObject({ status: 'REQUIRES_PAYMENT', amountMinor: 99_999_990n });
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
