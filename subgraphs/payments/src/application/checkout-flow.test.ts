// The use cases against a real (throw-away) payments database and the real PSP simulator
// (in-process, its own database) through the official SDK, as in the service: checkouts are paid
// on its hosted page with Stripe's test cards, its signed webhooks are caught and handed to the
// handlers as a test chooses, and its fault injection makes it slow or failing.
import { PrismaPg } from '@prisma/adapter-pg';
import { createPgDatabase, DomainError, type Caller, type PgDatabase } from '@clearhouse/shared';
import { countingDatabase, createTestDatabase, waitFor, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import { sqlPaymentsStore } from '../persistence/payments.js';
import { cancelPayment } from './cancel-payment.js';
import { cleanupExpiredRecords } from './cleanup.js';
import { createCheckout } from './create-checkout.js';
import type { PaymentsDeps } from './deps.js';
import { testPaymentsDeps } from './deps.test-support.js';
import { NotDeferrableError, StaleVersionError, type PaymentsTransaction } from './ports.js';
import { answerChallenge, payOnHostedPage, SIMULATOR_PSP_POLICY, startPaymentsSimulator, TEST_CARDS, type PaymentsSimulator } from './simulator.test-support.js';
import { syncPaymentWithPsp } from './sync-with-psp.js';
import { handleStripeWebhook } from './webhooks.js';

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
const input = (overrides: object = {}) => ({ idempotencyKey: `k${++counter}`, buyerId: `b${counter}`, currency: 'USD', orders: [{ sellerId: 's1', amountMinor: 6000n }, { sellerId: 's2', amountMinor: 4000n }], ...overrides });

beforeAll(async () => {
  database = await createTestDatabase('payments');
  pg = createPgDatabase(database.url, { poolMax: 30 });
  prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: database.url, max: 30 }) });
  simulator = await startPaymentsSimulator();
});

beforeEach(async () => {
  deps = testPaymentsDeps(pg, simulator.psp, { pspPolicy: SIMULATOR_PSP_POLICY });
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

/** The requests the PSP answered during the running test. */
async function pspRequests(method: string, path: string | RegExp) {
  return simulator.apiRequests({ after: requestsBefore, method, path });
}

/** Every checkout session creation the PSP got during the running test (failed attempts too). */
async function sessionCalls() {
  return pspRequests('POST', '/v1/checkout/sessions');
}

/** The checkout sessions the PSP expired during the running test. */
async function expiredSessions(): Promise<string[]> {
  const expires = await pspRequests('POST', /^\/v1\/checkout\/sessions\/[^/]+\/expire$/);
  return expires.filter((request) => request.status === 200).map((request) => request.path.split('/')[4]!);
}

/** A new checkout registered at the PSP. */
async function registered() {
  const created = await createCheckout(deps, { caller: platform, input: input() });
  expect(created.userErrors).toEqual([]);
  const payment = (await deps.store.findPayment(created.paymentId!))!;
  return { id: payment.id, intentId: payment.pspPaymentIntentId!, sessionId: payment.pspCheckoutSessionId!, checkoutUrl: payment.checkoutUrl! };
}

/** `card` presented on the checkout's hosted page: the PSP's webhook of `type` (caught, not delivered) and its state of the intent now. */
async function payAtPsp(payment: { intentId: string; checkoutUrl: string }, card: string, type: string) {
  await payOnHostedPage(payment.checkoutUrl, card);
  const webhook = await simulator.webhook(type, payment.intentId);
  return { webhook, event: webhook.event, state: await simulator.psp.retrievePaymentIntent(payment.intentId) };
}

async function outbox(paymentId: string) {
  return prisma.outboxMessage.findMany({ where: { correlationId: paymentId }, orderBy: [{ createdAt: 'asc' }, { id: 'asc' }] });
}

test('50 concurrent identical calls: one payment, one PSP registration', async () => {
  // The PSP takes 50 ms to register a session.
  await simulator.faults({ apiLatencyMs: 50, paths: ['/v1/checkout/sessions'] });
  const same = input();
  const results = await Promise.allSettled(Array.from({ length: 50 }, () => createCheckout(deps, { caller: platform, input: same })));
  const ids = new Set(results.flatMap((r) => (r.status === 'fulfilled' && r.value.paymentId ? [r.value.paymentId] : [])));
  expect(ids.size).toBe(1);
  for (const r of results) if (r.status === 'rejected') expect((r.reason as DomainError).code).toBe('IDEMPOTENCY_KEY_IN_USE');
  const calls = await sessionCalls();
  expect(calls).toHaveLength(1);
  expect(await prisma.payment.count({ where: { idempotencyKey: same.idempotencyKey } })).toBe(1);
  expect(calls[0]!.idempotencyKey).toBe(`checkout:${[...ids][0]}`);
});

test('PSP unavailable → PSP_UNAVAILABLE; the retry finishes the same payment with a new key round', async () => {
  const same = input();
  // The PSP answers every session creation with a server error (both attempts of the first call), then recovers.
  await simulator.faults({ apiErrorRate: 1, paths: ['/v1/checkout/sessions'] });
  const first = await createCheckout(deps, { caller: platform, input: same });
  expect(first.userErrors.map((e) => e.code)).toEqual(['PSP_UNAVAILABLE']);
  await simulator.faults(null);
  const payment = await prisma.payment.findFirstOrThrow({ where: { idempotencyKey: same.idempotencyKey } });
  expect(payment.status).toBe('CREATED');
  const second = await createCheckout(deps, { caller: platform, input: same });
  expect({ paymentId: second.paymentId, userErrors: second.userErrors, replayed: second.replayed }).toEqual({ paymentId: payment.id, userErrors: [], replayed: false });
  expect(second.current?.payment.status).toBe('REQUIRES_PAYMENT');
  expect(second.current?.payment).toEqual(await deps.store.findPayment(payment.id));
  expect((await sessionCalls()).map((c) => [c.idempotencyKey, c.status])).toEqual([[`checkout:${payment.id}`, 500], [`checkout:${payment.id}:1`, 500], [`checkout:${payment.id}:2`, 200]]);
  const orders = await prisma.paymentOrder.findMany({ where: { paymentId: payment.id }, orderBy: { position: 'asc' } });
  expect(orders.map((o) => [o.feeMinor, o.netAmountMinor])).toEqual([[174n, 5826n], [116n, 3884n]]);
});

test('a new checkout is registered in one statement without a transaction: the payment, its timeline, its event and the stored response', async () => {
  const counted = countingDatabase(pg);
  const store = sqlPaymentsStore(counted);
  const created = await createCheckout({ ...deps, store }, { caller: platform, input: input() });
  const id = created.paymentId!;
  // The insert (which also counts the buyer's recent payments) and the registration: nothing inside a transaction.
  expect({ reads: counted.reads, inTransactions: counted.inTransactions }).toEqual({ reads: 2, inTransactions: 0 });
  expect(created.current?.payment).toEqual(await deps.store.findPayment(id));
  expect(created.current?.payment).toMatchObject({ status: 'REQUIRES_PAYMENT', version: 1 });
  expect((await outbox(id)).map((row) => row.eventType)).toEqual(['payment.status_changed']);
  expect((await deps.store.timelineOf(id)).map((entry) => entry.type)).toEqual(['payment.created', 'psp.checkout_session_created', 'payment.status_changed']);
  const key = await prisma.idempotencyKey.findFirstOrThrow({ where: { callerId: platform.keyId, key: `k${counter}` } });
  expect(key.status).toBe('completed');
  expect(key.response).toMatchObject({ paymentId: id });
  // The re-check schedule the registration sets is stored too, though the record does not carry it.
  const row = await prisma.payment.findUniqueOrThrow({ where: { id } });
  expect(row.nextRecheckAt).toBeInstanceOf(Date);
});

test('a change alone writes nothing when the version moved or the work needs a read', async () => {
  const created = await createCheckout(deps, { caller: platform, input: input() });
  const id = created.paymentId!;
  const before = { payment: await deps.store.findPayment(id), timeline: (await deps.store.timelineOf(id)).length, outbox: (await outbox(id)).length };
  const stale = { ...before.payment!, version: before.payment!.version - 1 };
  const work = async (tx: PaymentsTransaction) => {
    await tx.addTimeline({ paymentId: id, at: new Date(), source: 'payments', type: 'test.entry', message: 'never written', data: null });
    return tx.updatePayment(stale.id, stale.version, { checkoutUrl: null });
  };
  await expect(deps.store.changeAlone(stale, work)).rejects.toBeInstanceOf(StaleVersionError);
  await expect(deps.store.changeAlone(before.payment!, async (tx) => tx.lockPayment(id))).rejects.toBeInstanceOf(NotDeferrableError);
  await expect(deps.store.changeAlone(before.payment!, async (tx) => tx.addTimeline({ paymentId: id, at: new Date(), source: 'payments', type: 'test.entry', message: 'no update', data: null }))).rejects.toBeInstanceOf(NotDeferrableError);
  expect({ payment: await deps.store.findPayment(id), timeline: (await deps.store.timelineOf(id)).length, outbox: (await outbox(id)).length }).toEqual(before);
});

test('a new checkout: the payment, orders and response as stored; the response is stored with the registration; the timeline in order', async () => {
  const same = input({ metadata: { cart: 'c1' } });
  const created = await createCheckout(deps, { caller: platform, input: same });
  const id = created.paymentId!;
  // What the mutation hands to its payload is exactly what the database holds (no read-back needed).
  expect(created.current?.payment).toEqual(await deps.store.findPayment(id));
  expect(created.current?.orders).toEqual(await deps.store.ordersOfPayments([id]));
  // The hosted page is the one of this payment's session at the PSP.
  const session = await simulator.stripe.checkout.sessions.retrieve(created.current!.payment.pspCheckoutSessionId!);
  expect({ clientReferenceId: session.client_reference_id, url: session.url }).toEqual({ clientReferenceId: id, url: expect.stringMatching(new RegExp(`/pay/${session.id}$`)) });
  expect(created.current?.payment).toMatchObject({ status: 'REQUIRES_PAYMENT', version: 1, checkoutUrl: session.url, metadata: { cart: 'c1' } });
  const key = await prisma.idempotencyKey.findFirstOrThrow({ where: { callerId: platform.keyId, key: same.idempotencyKey } });
  expect(key).toMatchObject({ status: 'completed', response: { paymentId: id, userErrors: [] }, lockedUntil: null });
  expect(key.completedAt).not.toBeNull();
  expect((await deps.store.timelineOf(id)).map((entry) => entry.type)).toEqual(['payment.created', 'psp.checkout_session_created', 'payment.status_changed']);
  expect((await outbox(id)).map((row) => row.eventType)).toEqual(['payment.status_changed']);
  const replay = await createCheckout(deps, { caller: platform, input: same });
  expect(replay).toEqual({ paymentId: id, userErrors: [], replayed: true });
});

test('the payment changed while the PSP registered it: the status change is redone under the row lock', async () => {
  // The PSP takes its time to register the session; meanwhile the payment is changed.
  await simulator.faults({ apiLatencyMs: 500, paths: ['/v1/checkout/sessions'] });
  const same = input();
  const creating = createCheckout(deps, { caller: platform, input: same });
  await waitFor(async () => ((await prisma.payment.count({ where: { idempotencyKey: same.idempotencyKey } })) > 0 ? true : undefined), 'the payment inserted');
  // Only while the registration is in flight (not yet recorded): otherwise this test would prove nothing.
  const touched = await prisma.payment.updateMany({ where: { idempotencyKey: same.idempotencyKey, status: 'CREATED', pspCheckoutSessionId: null }, data: { version: { increment: 1 }, metadata: { touched: true } } });
  expect(touched.count).toBe(1);
  const created = await creating;
  const id = created.paymentId!;
  expect(created.userErrors).toEqual([]);
  const stored = await deps.store.findPayment(id);
  expect(stored).toMatchObject({ status: 'REQUIRES_PAYMENT', version: 2, metadata: { touched: true } });
  expect(created.current?.payment).toEqual(stored);
  expect((await deps.store.timelineOf(id)).map((entry) => entry.type)).toEqual(['payment.created', 'psp.checkout_session_created', 'payment.status_changed']);
  expect(await sessionCalls()).toHaveLength(1);
});

test('a key reused after its idempotency row was deleted (past retention) finds the payment made under it, and makes no second one', async () => {
  const same = input();
  const first = await createCheckout(deps, { caller: platform, input: same });
  await prisma.idempotencyKey.deleteMany({ where: { callerId: platform.keyId, key: same.idempotencyKey } });
  const again = await createCheckout(deps, { caller: platform, input: same });
  expect(again.paymentId).toBe(first.paymentId);
  expect(again.userErrors).toEqual([]);
  expect(await prisma.payment.count({ where: { idempotencyKey: same.idempotencyKey } })).toBe(1);
  expect(await prisma.paymentOrder.count({ where: { paymentId: first.paymentId! } })).toBe(2);
  expect(await sessionCalls()).toHaveLength(1);
});

test('PSP states drive the transitions; outbox rows per change; late events change nothing', async () => {
  const checkout = await registered();
  const id = checkout.id;
  // The PSP's states of the intent as the buyer goes: a declined card (FAILED, kept to arrive
  // late), a card asking for 3-D Secure (REQUIRES_ACTION), the challenge approved (SUCCEEDED).
  expect(await payOnHostedPage(checkout.checkoutUrl, TEST_CARDS.declined)).toBe(402);
  const declined = await simulator.psp.retrievePaymentIntent(checkout.intentId);
  expect(declined.status).toBe('FAILED');
  await payOnHostedPage(checkout.checkoutUrl, TEST_CARDS.threeDSecure);
  const challenged = await simulator.psp.retrievePaymentIntent(checkout.intentId);
  expect(challenged.status).toBe('REQUIRES_ACTION');
  expect((await syncPaymentWithPsp(deps, id, challenged, 'test')).kind).toBe('changed');
  await answerChallenge(checkout.checkoutUrl, true);
  const succeeded = await simulator.psp.retrievePaymentIntent(checkout.intentId);
  expect(succeeded.status).toBe('SUCCEEDED');
  expect((await syncPaymentWithPsp(deps, id, succeeded, 'test')).kind).toBe('changed');
  expect((await syncPaymentWithPsp(deps, id, challenged, 'late')).kind).toBe('unchanged');
  const before = await outbox(id);
  expect((await syncPaymentWithPsp(deps, id, declined, 'contradiction')).kind).toBe('illegal');
  expect(await outbox(id)).toHaveLength(before.length);
  // Rows of one transaction share created_at; their order within it is not defined.
  expect(before.map((e) => e.eventType).sort()).toEqual(['payment.status_changed', 'payment.status_changed', 'payment.status_changed', 'payment.succeeded']);
  const payment = await prisma.payment.findUniqueOrThrow({ where: { id } });
  expect(payment).toMatchObject({ status: 'SUCCEEDED', checkoutUrl: null, nextRecheckAt: null });
});

test('FAILED records the PSP failure and expires the session', async () => {
  const payment = await registered();
  const id = payment.id;
  expect(await payOnHostedPage(payment.checkoutUrl, TEST_CARDS.declined)).toBe(402);
  await syncPaymentWithPsp(deps, id, await simulator.psp.retrievePaymentIntent(payment.intentId), 'test');
  expect(await prisma.payment.findUniqueOrThrow({ where: { id } })).toMatchObject({ status: 'FAILED', failureCode: 'generic_decline', checkoutUrl: null });
  expect(await expiredSessions()).toEqual([payment.sessionId]);
  expect((await prisma.paymentOrder.findMany({ where: { paymentId: id } })).map((o) => o.status)).toEqual(['FAILED', 'FAILED']);
});

test('a webhook event id is applied once', async () => {
  const payment = await registered();
  const id = payment.id;
  const { event: webhook, state } = await payAtPsp(payment, TEST_CARDS.success, 'payment_intent.succeeded');
  expect((await syncPaymentWithPsp(deps, id, state, 'webhook', webhook)).kind).toBe('changed');
  expect((await syncPaymentWithPsp(deps, id, state, 'webhook', webhook)).kind).toBe('duplicate_webhook');
});

test('a webhook change writes its timeline entries and outbox events together; a repeat writes nothing; the event id of an unknown payment is kept', async () => {
  const payment = await registered();
  const id = payment.id;
  const { event: webhook, state } = await payAtPsp(payment, TEST_CARDS.success, 'payment_intent.succeeded');
  const outboxBefore = (await outbox(id)).length;
  expect((await syncPaymentWithPsp(deps, id, state, 'webhook', webhook)).kind).toBe('changed');
  const timeline = (await deps.store.timelineOf(id)).map((entry) => entry.type);
  expect(timeline.slice(-2)).toEqual(['psp.webhook_received', 'payment.status_changed']);
  const written = (await outbox(id)).slice(outboxBefore).map((event) => event.eventType).sort();
  expect(written).toEqual(['payment.status_changed', 'payment.succeeded']);
  expect((await syncPaymentWithPsp(deps, id, state, 'webhook', webhook)).kind).toBe('duplicate_webhook');
  expect((await deps.store.timelineOf(id)).map((entry) => entry.type)).toEqual(timeline);
  expect(await outbox(id)).toHaveLength(outboxBefore + 2);

  // An intent paid at the PSP for a payment this database does not hold (made there directly).
  const stranger = await simulator.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', metadata: { paymentId: `pay_missing_${id}` }, payment_method: 'pm_card_visa', confirm: true });
  const stray = (await simulator.webhook('payment_intent.succeeded', stranger.id)).event;
  const strayState = await simulator.psp.retrievePaymentIntent(stranger.id);
  expect((await syncPaymentWithPsp(deps, `pay_missing_${id}`, strayState, 'webhook', stray)).kind).toBe('unknown_payment');
  expect(await prisma.processedWebhookEvent.count({ where: { eventId: stray.id } })).toBe(1);
});

async function writtenFor(id: string) {
  return {
    payment: await deps.store.findPayment(id),
    orders: await deps.store.ordersOfPayments([id]),
    timeline: await deps.store.timelineOf(id),
    outbox: (await outbox(id)).map((row) => row.eventType),
    webhooks: await prisma.processedWebhookEvent.count({ where: { eventId: { startsWith: 'evt_' }, type: 'payment_intent.succeeded' } }),
  };
}

test('a webhook status change is one read and one statement, without a transaction; a redelivery is one read', async () => {
  const payment = await registered();
  const id = payment.id;
  const { webhook, event } = await payAtPsp(payment, TEST_CARDS.success, 'payment_intent.succeeded');
  const outboxBefore = (await outbox(id)).length;
  const counted = countingDatabase(pg);
  const answer = await handleStripeWebhook({ ...deps, store: sqlPaymentsStore(counted) }, webhook.body, webhook.signature);
  expect(answer).toEqual({ status: 200, body: { received: true, outcome: 'changed' } });
  // The snapshot (event id seen? the payment and its orders) and the change: no BEGIN, no COMMIT.
  expect({ reads: counted.reads, inTransactions: counted.inTransactions }).toEqual({ reads: 2, inTransactions: 0 });
  const stored = await prisma.payment.findUniqueOrThrow({ where: { id } });
  expect(stored).toMatchObject({ status: 'SUCCEEDED', version: 2, checkoutUrl: null, nextRecheckAt: null });
  const orders = await prisma.paymentOrder.findMany({ where: { paymentId: id }, orderBy: { position: 'asc' } });
  expect(orders.map((order) => order.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
  expect((await deps.store.timelineOf(id)).map((entry) => entry.type).slice(-2)).toEqual(['psp.webhook_received', 'payment.status_changed']);
  const events = (await outbox(id)).slice(outboxBefore);
  expect(events.map((row) => row.eventType).sort()).toEqual(['payment.status_changed', 'payment.succeeded']);
  // The orders the succeeded event carries are the stored ones.
  const succeeded = events.find((row) => row.eventType === 'payment.succeeded')!.payload as { orders: { paymentOrderId: string; sellerId: string; netAmountMinor: string }[] };
  expect(succeeded.orders.map((order) => [order.paymentOrderId, order.sellerId, String(order.netAmountMinor)])).toEqual(orders.map((order) => [order.id, order.sellerId, String(order.netAmountMinor)]));
  expect(await prisma.processedWebhookEvent.count({ where: { eventId: event.id } })).toBe(1);

  const again = countingDatabase(pg);
  expect(await handleStripeWebhook({ ...deps, store: sqlPaymentsStore(again) }, webhook.body, webhook.signature)).toEqual({ status: 200, body: { received: true, duplicate: true } });
  expect({ reads: again.reads, inTransactions: again.inTransactions }).toEqual({ reads: 1, inTransactions: 0 });
});

test('ten concurrent deliveries of one webhook change the payment once', async () => {
  const payment = await registered();
  const id = payment.id;
  const { webhook } = await payAtPsp(payment, TEST_CARDS.success, 'payment_intent.succeeded');
  const outboxBefore = (await outbox(id)).length;
  const answers = await Promise.all(Array.from({ length: 10 }, () => handleStripeWebhook(deps, webhook.body, webhook.signature)));
  expect(answers.filter((answer) => answer.body.outcome === 'changed')).toHaveLength(1);
  expect(answers.every((answer) => answer.status === 200 && (answer.body.outcome === 'changed' || answer.body.outcome === 'duplicate_webhook' || answer.body.duplicate === true))).toBe(true);
  expect((await outbox(id)).slice(outboxBefore).map((row) => row.eventType).sort()).toEqual(['payment.status_changed', 'payment.succeeded']);
  expect((await deps.store.timelineOf(id)).filter((entry) => entry.type === 'psp.webhook_received')).toHaveLength(1);
  expect(await deps.store.findPayment(id)).toMatchObject({ status: 'SUCCEEDED', version: 2 });
});

test('the one-statement webhook change hands back the payment exactly as stored', async () => {
  const payment = await registered();
  const id = payment.id;
  const { event, state } = await payAtPsp(payment, TEST_CARDS.declined, 'payment_intent.payment_failed');
  const snapshot = await deps.store.webhookSnapshot(event.id, payment.intentId);
  expect(snapshot).toEqual({ processed: false, payment: await deps.store.findPayment(id), orders: await deps.store.ordersOfPayments([id]) });
  const outcome = await syncPaymentWithPsp(deps, id, state, 'webhook', event, { payment: snapshot.payment!, orders: snapshot.orders });
  expect(outcome.kind).toBe('changed');
  expect(outcome.kind === 'changed' && outcome.payment).toEqual(await deps.store.findPayment(id));
  // The failure as the PSP reports it (Stripe's generic decline).
  expect(await deps.store.findPayment(id)).toMatchObject({ status: 'FAILED', failureCode: 'generic_decline', failureMessage: 'Your card was declined.' });
  expect(await expiredSessions()).toEqual([payment.sessionId]);
  expect(await deps.store.webhookSnapshot(event.id, null)).toEqual({ processed: true, payment: null, orders: [] });
});

test('a webhook change on a moved version writes nothing in one statement and is applied once under the row lock', async () => {
  const payment = await registered();
  const id = payment.id;
  const { event, state } = await payAtPsp(payment, TEST_CARDS.success, 'payment_intent.succeeded');
  const snapshot = await deps.store.webhookSnapshot(event.id, payment.intentId);
  await prisma.payment.update({ where: { id }, data: { version: { increment: 1 }, metadata: { touched: true } } });
  const before = await writtenFor(id);
  // On its own, the statement records nothing, not even the event id.
  const stale = deps.store.changeAlone(snapshot.payment!, (tx) => tx.markWebhookAndLockPayment(event.id, event.type, id).then(() => tx.updatePayment(id, snapshot.payment!.version, { checkoutUrl: null })), { orders: snapshot.orders, webhook: { eventId: event.id, type: event.type } });
  await expect(stale).rejects.toBeInstanceOf(StaleVersionError);
  expect(await writtenFor(id)).toEqual(before);
  expect(await prisma.processedWebhookEvent.count({ where: { eventId: event.id } })).toBe(0);

  const outcome = await syncPaymentWithPsp(deps, id, state, 'webhook', event, { payment: snapshot.payment!, orders: snapshot.orders });
  expect(outcome.kind).toBe('changed');
  expect(await deps.store.findPayment(id)).toMatchObject({ status: 'SUCCEEDED', version: 3, metadata: { touched: true } });
  expect((await deps.store.timelineOf(id)).filter((entry) => entry.type === 'psp.webhook_received')).toHaveLength(1);
  expect((await outbox(id)).length).toBe(before.outbox.length + 2);
  expect(await prisma.processedWebhookEvent.count({ where: { eventId: event.id } })).toBe(1);
});

test('a delivery on the locked path takes the payment\'s lock before it records the event id: it cannot deadlock with a one-statement delivery of the same event', async () => {
  const payment = await registered();
  const id = payment.id;
  const { event, state } = await payAtPsp(payment, TEST_CARDS.success, 'payment_intent.succeeded');
  let lockedPath: Promise<Awaited<ReturnType<typeof syncPaymentWithPsp>>> | undefined;
  // Stands in for changeAlone's webhook statement mid-way: the payment's row locked, the event id not yet inserted.
  await pg.$transaction(async (tx) => {
    await tx.$queryRawUnsafe('SELECT id FROM payments WHERE id = $1 FOR UPDATE', id);
    lockedPath = syncPaymentWithPsp(deps, id, state, 'webhook', event);
    await waitFor(async () => {
      const [row] = await prisma.$queryRawUnsafe<{ waiting: number }[]>("SELECT count(*)::int AS waiting FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
      return row && row.waiting > 0 ? true : undefined;
    }, 'the locked path waiting for the payment row');
    // Had the locked path inserted the event id before waiting, this insert would wait for it: a deadlock.
    await tx.$executeRawUnsafe('INSERT INTO processed_webhook_events (event_id, type) VALUES ($1, $2)', event.id, event.type);
  });
  expect(await lockedPath).toEqual({ kind: 'duplicate_webhook' });
  expect(await deps.store.findPayment(id)).toMatchObject({ status: 'REQUIRES_PAYMENT', version: 1 });
});

test('a webhook recorded between the snapshot and the change is a duplicate and writes nothing', async () => {
  const payment = await registered();
  const id = payment.id;
  const { event, state } = await payAtPsp(payment, TEST_CARDS.success, 'payment_intent.succeeded');
  const snapshot = await deps.store.webhookSnapshot(event.id, payment.intentId);
  await prisma.processedWebhookEvent.create({ data: { eventId: event.id, type: event.type } });
  const before = await writtenFor(id);
  const outcome = await syncPaymentWithPsp(deps, id, state, 'webhook', event, { payment: snapshot.payment!, orders: snapshot.orders });
  expect(outcome).toEqual({ kind: 'duplicate_webhook' });
  expect(await writtenFor(id)).toEqual(before);
});

test('a webhook that changes nothing is recorded under the row lock (no statement of its own)', async () => {
  const payment = await registered();
  const id = payment.id;
  const { event, state } = await payAtPsp(payment, TEST_CARDS.threeDSecure, 'payment_intent.requires_action');
  // The re-check already brought the payment to the PSP's state; the webhook arrives after it.
  expect((await syncPaymentWithPsp(deps, id, state, 'recheck')).kind).toBe('changed');
  const snapshot = await deps.store.webhookSnapshot(event.id, payment.intentId);
  const counted = countingDatabase(pg);
  const outcome = await syncPaymentWithPsp({ ...deps, store: sqlPaymentsStore(counted) }, id, state, 'webhook', event, { payment: snapshot.payment!, orders: snapshot.orders });
  expect(outcome.kind).toBe('unchanged');
  expect({ reads: counted.reads, inTransactions: counted.inTransactions > 0 }).toEqual({ reads: 0, inTransactions: true });
  expect(await deps.store.findPayment(id)).toEqual(snapshot.payment);
  expect((await deps.store.timelineOf(id)).at(-1)?.type).toBe('psp.webhook_received');
  expect(await prisma.processedWebhookEvent.count({ where: { eventId: event.id } })).toBe(1);
});

test('payment_intent.created is answered without asking the PSP or touching the payment', async () => {
  const payment = await registered();
  const id = payment.id;
  /** How often the PSP was asked for this payment's intent during the test. */
  const retrieves = async () => (await pspRequests('GET', `/v1/payment_intents/${payment.intentId}`)).length;
  const created = await simulator.webhook('payment_intent.created', payment.intentId);
  const before = await prisma.timelineEvent.count({ where: { paymentId: id } });
  const answer = await handleStripeWebhook(deps, created.body, created.signature);
  expect(answer).toEqual({ status: 200, body: { received: true, ignored: 'payment_intent.created carries no news for the payment' } });
  expect(await retrieves()).toBe(0);
  expect(await prisma.timelineEvent.count({ where: { paymentId: id } })).toBe(before);
  expect(await prisma.processedWebhookEvent.count({ where: { eventId: created.event.id } })).toBe(0);
  // Any other payment-intent event still makes the PSP's state authoritative.
  await payOnHostedPage(payment.checkoutUrl, TEST_CARDS.processing);
  const processing = await simulator.webhook('payment_intent.processing', payment.intentId);
  expect((await handleStripeWebhook(deps, processing.body, processing.signature)).status).toBe(200);
  expect(await retrieves()).toBe(1);
});

test('cancelPayment: CANCELED through the PSP state; a replay is marked', async () => {
  const { id: paymentId } = await registered();
  const canceled = await cancelPayment(deps, platform, { idempotencyKey: 'c1', paymentId: paymentId! });
  expect(canceled).toEqual({ paymentId, userErrors: [], replayed: false });
  expect((await cancelPayment(deps, platform, { idempotencyKey: 'c1', paymentId: paymentId! })).replayed).toBe(true);
  expect((await prisma.payment.findUniqueOrThrow({ where: { id: paymentId! } })).status).toBe('CANCELED');
});

test('risk rejection and a seller caller write no payment', async () => {
  deps.risk = { ...deps.risk, blockedBuyerIds: new Set(['evil']) };
  const rejected = await createCheckout(deps, { caller: platform, input: input({ buyerId: 'evil' }) });
  expect(rejected.userErrors.map((e) => e.code)).toEqual(['RISK_REJECTED']);
  await expect(createCheckout(deps, { caller: { role: 'seller', keyId: 'k', sellerId: 's1' }, input: input() })).rejects.toMatchObject({ code: 'FORBIDDEN' });
  expect(await prisma.payment.count({ where: { buyerId: 'evil' } })).toBe(0);
});

test('the buyer velocity rule: the payment over the limit is refused by the insert itself and writes nothing', async () => {
  deps.risk = { ...deps.risk, buyerPaymentsPerWindowMax: 2 };
  const buyerId = `fast_${counter}`;
  for (let i = 0; i < 2; i++) expect((await createCheckout(deps, { caller: platform, input: input({ buyerId }) })).userErrors).toEqual([]);
  const sessionsBefore = (await sessionCalls()).length;
  const counted = countingDatabase(pg);
  const over = input({ buyerId });
  const rejected = await createCheckout({ ...deps, store: sqlPaymentsStore(counted) }, { caller: platform, input: over });
  expect(rejected.paymentId).toBeNull();
  expect(rejected.userErrors).toEqual([expect.objectContaining({ code: 'RISK_REJECTED', message: expect.stringContaining('more than 2 payments') })]);
  // One statement counted and refused; no PSP call; no payment, order or timeline row.
  expect({ reads: counted.reads, inTransactions: counted.inTransactions }).toEqual({ reads: 1, inTransactions: 0 });
  expect((await sessionCalls()).length).toBe(sessionsBefore);
  expect(await prisma.payment.count({ where: { buyerId } })).toBe(2);
  expect(await prisma.paymentOrder.count({ where: { payment: { buyerId } } })).toBe(4);
  expect(await prisma.timelineEvent.count({ where: { message: { contains: 'checkout of' }, payment: { buyerId } } })).toBe(2);
  // Another buyer is not held back by this one's count, and outside the window the buyer may pay again.
  expect((await createCheckout(deps, { caller: platform, input: input() })).userErrors).toEqual([]);
  deps.risk = { ...deps.risk, buyerVelocityWindowMs: 1 };
  await new Promise((resolve) => setTimeout(resolve, 5));
  expect((await createCheckout(deps, { caller: platform, input: input({ buyerId }) })).userErrors).toEqual([]);
  expect(await prisma.payment.count({ where: { buyerId } })).toBe(3);
});

test('retention cleanup deletes processed webhook ids past their retention and keeps the recent ones', async () => {
  const old = new Date(Date.now() - 4 * 24 * 3_600_000);
  await prisma.processedWebhookEvent.createMany({ data: Array.from({ length: 3 }, (_, i) => ({ eventId: `evt_cleanup_old_${i}`, type: 'payment_intent.succeeded', receivedAt: old })) });
  await prisma.processedWebhookEvent.create({ data: { eventId: 'evt_cleanup_new', type: 'payment_intent.succeeded' } });
  const deleted = await cleanupExpiredRecords(deps, { idempotencyKeysMs: 24 * 3_600_000, webhookEventsMs: 72 * 3_600_000 });
  expect(deleted.webhookEvents).toBeGreaterThanOrEqual(3);
  expect(await prisma.processedWebhookEvent.count({ where: { eventId: { startsWith: 'evt_cleanup_old_' } } })).toBe(0);
  expect(await prisma.processedWebhookEvent.count({ where: { eventId: 'evt_cleanup_new' } })).toBe(1);
});
