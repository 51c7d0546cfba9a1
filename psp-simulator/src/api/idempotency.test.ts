import Stripe from 'stripe';
import { startTestSimulator, type TestSimulator } from '../testkit/testkit.js';

let sim: TestSimulator;

beforeAll(async () => {
  sim = await startTestSimulator();
});
afterAll(async () => {
  await sim.stop();
});
afterEach(async () => {
  await sim.admin('DELETE', '/__admin/faults');
});

function rawPost(path: string, form: Record<string, string>, key: string): Promise<Response> {
  return fetch(`${sim.url}${path}`, {
    method: 'POST',
    headers: { authorization: 'Bearer sk_test_raw', 'idempotency-key': key, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
}

describe('idempotency keys', () => {
  it('replays the first response for the same key and parameters, with Idempotent-Replayed', async () => {
    const first = await sim.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', metadata: { order: 'a' } }, { idempotencyKey: 'key-replay' });
    const second = await sim.stripe.paymentIntents.create({ amount: 1000, currency: 'usd', metadata: { order: 'a' } }, { idempotencyKey: 'key-replay' });
    expect(second.id).toBe(first.id);
    const raw = await rawPost('/v1/payment_intents', { amount: '1000', currency: 'usd', 'metadata[order]': 'a' }, 'key-replay');
    expect(raw.headers.get('idempotent-replayed')).toBe('true');
    expect(((await raw.json()) as { id: string }).id).toBe(first.id);
    const events = await sim.stripe.events.list({ type: 'payment_intent.created', limit: 100 });
    expect(events.data.filter((event) => (event.data.object as Stripe.PaymentIntent).id === first.id)).toHaveLength(1);
  });

  it('replays errors too: a decline is not retried by reusing the key', async () => {
    const created = await sim.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' });
    const confirm = () => sim.stripe.paymentIntents.confirm(created.id, { payment_method: 'pm_card_chargeDeclined' }, { idempotencyKey: 'key-decline' }).catch((error: unknown) => error);
    const first = (await confirm()) as { statusCode?: number; code?: string };
    const second = (await confirm()) as { statusCode?: number; code?: string; headers?: Record<string, string> };
    expect(first.statusCode).toBe(402);
    expect(second.statusCode).toBe(402);
    expect(second.headers?.['idempotent-replayed']).toBe('true');
    const charges = await sim.stripe.charges.list({ payment_intent: created.id });
    expect(charges.data).toHaveLength(1);
  });

  it('the same key with different parameters is an idempotency_error', async () => {
    await sim.stripe.paymentIntents.create({ amount: 1000, currency: 'usd' }, { idempotencyKey: 'key-mismatch' });
    const error = await sim.stripe.paymentIntents.create({ amount: 1001, currency: 'usd' }, { idempotencyKey: 'key-mismatch' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
    expect((error as { statusCode?: number }).statusCode).toBe(400);
    const otherPath = await sim.stripe.payouts.create({ amount: 1000, currency: 'usd' }, { idempotencyKey: 'key-mismatch' }).catch((caught: unknown) => caught);
    expect(otherPath).toBeInstanceOf(Stripe.errors.StripeIdempotencyError);
  });

  it('the same key while the first request is in flight gets 409 idempotency_key_in_use', async () => {
    await sim.admin('POST', '/__admin/faults', { apiLatencyMs: 400 });
    const first = rawPost('/v1/payment_intents', { amount: '1000', currency: 'usd' }, 'key-in-flight');
    await new Promise((resolve) => setTimeout(resolve, 100));
    const second = await rawPost('/v1/payment_intents', { amount: '1000', currency: 'usd' }, 'key-in-flight');
    expect(second.status).toBe(409);
    expect(await second.json()).toMatchObject({ error: { type: 'idempotency_error', code: 'idempotency_key_in_use' } });
    const firstResponse = await first;
    expect(firstResponse.status).toBe(200);
    const third = await rawPost('/v1/payment_intents', { amount: '1000', currency: 'usd' }, 'key-in-flight');
    expect(third.headers.get('idempotent-replayed')).toBe('true');
  });

  it('stores an injected 500 and replays it for the same key', async () => {
    await sim.admin('POST', '/__admin/faults', { apiErrorRate: 1 });
    const first = await rawPost('/v1/payouts', { amount: '100', currency: 'usd' }, 'key-500');
    expect(first.status).toBe(500);
    await sim.admin('DELETE', '/__admin/faults');
    const second = await rawPost('/v1/payouts', { amount: '100', currency: 'usd' }, 'key-500');
    expect(second.status).toBe(500);
    expect(second.headers.get('idempotent-replayed')).toBe('true');
    expect(await second.json()).toMatchObject({ error: { type: 'api_error' } });
    const fresh = await rawPost('/v1/payouts', { amount: '100', currency: 'usd' }, 'key-500-b');
    expect(fresh.status).toBe(200);
  });

  it('GET requests ignore idempotency keys', async () => {
    const response = await fetch(`${sim.url}/v1/balance`, { headers: { authorization: 'Bearer sk_test_x', 'idempotency-key': 'key-get' } });
    expect(response.status).toBe(200);
    expect(response.headers.get('idempotent-replayed')).toBeNull();
  });
});
