// Checkouts whose PSP registration failed and was never retried: canceled after the abandonment
// age, against a real payments database and an in-process PSP simulator refusing the checkout
// session (its fault injection), through the official SDK as in the service (simulator.test-support.ts).
import { createPgDatabase, type Caller, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { ABANDONED_REGISTRATION_CAUSE, cancelAbandonedRegistrations } from './abandoned-registrations.js';
import { createCheckout } from './create-checkout.js';
import type { PaymentsDeps } from './deps.js';
import { testPaymentsDeps } from './deps.test-support.js';
import { SIMULATOR_PSP_POLICY, startPaymentsSimulator, type PaymentsSimulator } from './simulator.test-support.js';

const HOUR_MS = 3_600_000;
const ABANDON_MS = 25 * HOUR_MS;
const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };

let database: TestDatabase;
let pg: PgDatabase;
let simulator: PaymentsSimulator;
let deps: PaymentsDeps;
let counter = 0;
const input = () => ({ idempotencyKey: `abandon-${++counter}`, buyerId: `buyer-${counter}`, currency: 'USD', orders: [{ sellerId: 's1', amountMinor: 6000n }, { sellerId: 's2', amountMinor: 4000n }] });

async function rows<T>(sql: string, ...params: unknown[]): Promise<T[]> {
  return pg.$queryRawUnsafe<T[]>(sql, ...params);
}

beforeAll(async () => {
  database = await createTestDatabase('payments');
  pg = createPgDatabase(database.url, { poolMax: 10 });
  simulator = await startPaymentsSimulator();
  deps = testPaymentsDeps(pg, simulator.psp, { pspPolicy: SIMULATOR_PSP_POLICY });
});

afterAll(async () => {
  await simulator?.stop();
  await pg?.end();
  await database?.drop();
});

test('a payment left CREATED by a failed registration is canceled once older than the abandonment age; registered and younger ones are not', async () => {
  // 1. The PSP refuses every checkout session: the client gets PSP_UNAVAILABLE and never retries.
  await simulator.faults({ apiErrorRate: 1, paths: ['/v1/checkout/sessions'] });
  const abandonedInput = input();
  const abandoned = await createCheckout(deps, { caller: platform, input: abandonedInput });
  expect(abandoned.userErrors.map((error) => error.code)).toEqual(['PSP_UNAVAILABLE']);
  await new Promise((resolve) => setTimeout(resolve, 20));
  const young = await createCheckout(deps, { caller: platform, input: input() });
  expect(young.userErrors.map((error) => error.code)).toEqual(['PSP_UNAVAILABLE']);
  // 2. A checkout the PSP registered.
  await simulator.faults({ apiErrorRate: 0 });
  const registered = await createCheckout(deps, { caller: platform, input: input() });
  expect(registered.userErrors).toEqual([]);

  const [abandonedPayment] = await rows<{ id: string; created_at: Date }>(`SELECT id, created_at FROM payments WHERE idempotency_key = $1`, abandonedInput.idempotencyKey);
  const [youngPayment] = await rows<{ id: string; created_at: Date; status: string }>(`SELECT id, created_at, status FROM payments WHERE id <> $1 AND status = 'CREATED'`, abandonedPayment!.id);
  expect(youngPayment).toBeDefined();
  // "Now" is the moment the younger one reaches the abandonment age: only the older one is past it.
  const now = new Date(youngPayment!.created_at.getTime() + ABANDON_MS - 1);

  const summary = await cancelAbandonedRegistrations(deps, { olderThanMs: ABANDON_MS, batchSize: 100, now });
  expect(summary).toEqual({ found: 1, canceled: 1 });

  const statuses = await rows<{ id: string; status: string }>(`SELECT id, status FROM payments ORDER BY created_at`);
  expect(statuses).toEqual([
    { id: abandonedPayment!.id, status: 'CANCELED' },
    { id: youngPayment!.id, status: 'CREATED' },
    { id: registered.paymentId, status: 'REQUIRES_PAYMENT' },
  ]);
  const orders = await rows<{ status: string }>(`SELECT status FROM payment_orders WHERE payment_id = $1 ORDER BY position`, abandonedPayment!.id);
  expect(orders.map((order) => order.status)).toEqual(['CANCELED', 'CANCELED']);
  // The timeline says why, and the status change is in the outbox like any other.
  const timeline = await deps.store.timelineOf(abandonedPayment!.id);
  expect(timeline.at(-1)).toMatchObject({ source: 'payments', type: 'payment.status_changed', message: `CREATED → CANCELED (${ABANDONED_REGISTRATION_CAUSE})` });
  const events = await rows<{ event_type: string; payload: { from: string; to: string } }>(`SELECT event_type, payload FROM outbox_messages WHERE correlation_id = $1`, abandonedPayment!.id);
  expect(events.map((event) => [event.event_type, event.payload.from, event.payload.to])).toEqual([['payment.status_changed', 'CREATED', 'CANCELED']]);

  // A second run finds nothing more to do; the younger one goes once it is old enough.
  expect(await cancelAbandonedRegistrations(deps, { olderThanMs: ABANDON_MS, batchSize: 100, now })).toEqual({ found: 0, canceled: 0 });
  expect(await cancelAbandonedRegistrations(deps, { olderThanMs: ABANDON_MS, batchSize: 100, now: new Date(now.getTime() + 2) })).toEqual({ found: 1, canceled: 1 });

  // 3. The client retrying the abandoned key later is answered with the canceled payment; nothing is registered.
  const retried = await createCheckout(deps, { caller: platform, input: abandonedInput });
  expect({ paymentId: retried.paymentId, userErrors: retried.userErrors }).toEqual({ paymentId: abandonedPayment!.id, userErrors: [] });
  const [after] = await rows<{ status: string; psp_checkout_session_id: string | null }>(`SELECT status, psp_checkout_session_id FROM payments WHERE id = $1`, abandonedPayment!.id);
  expect(after).toEqual({ status: 'CANCELED', psp_checkout_session_id: null });
});

test('bad options are refused before anything is read or written', async () => {
  const before = await rows<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM payments GROUP BY status ORDER BY status`);
  await expect(cancelAbandonedRegistrations(deps, { olderThanMs: ABANDON_MS, batchSize: 0 })).rejects.toThrow('batchSize must be 1..1000');
  await expect(cancelAbandonedRegistrations(deps, { olderThanMs: -1, batchSize: 10 })).rejects.toThrow('olderThanMs must not be negative');
  expect(await rows<{ status: string; n: number }>(`SELECT status, count(*)::int AS n FROM payments GROUP BY status ORDER BY status`)).toEqual(before);
});
