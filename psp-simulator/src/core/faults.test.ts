import Stripe from 'stripe';
import type { ApiLogEntry, WebhookLogEntry } from './requestLog.js';
import { poll, startTestSimulator, stripeClient, type TestSimulator } from '../testkit/testkit.js';

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

async function apiLog(): Promise<ApiLogEntry[]> {
  const { json } = await sim.admin<{ entries: (ApiLogEntry | WebhookLogEntry)[] }>('GET', '/__admin/log?kind=api');
  return json.entries as ApiLogEntry[];
}

async function paymentIntentsWithMarker(marker: string): Promise<Stripe.PaymentIntent[]> {
  const found: Stripe.PaymentIntent[] = [];
  for await (const paymentIntent of sim.stripe.paymentIntents.list({ limit: 100 })) if (paymentIntent.metadata.marker === marker) found.push(paymentIntent);
  return found;
}

describe('fault settings', () => {
  it('merges, returns and clears the settings', async () => {
    await sim.admin('POST', '/__admin/faults', { apiErrorRate: 0.5 });
    const merged = await sim.admin('POST', '/__admin/faults', { webhookShuffle: true, paths: ['/v1/payouts'] });
    expect(merged.json).toEqual({ apiErrorRate: 0.5, webhookShuffle: true, paths: ['/v1/payouts'] });
    expect((await sim.admin('GET', '/__admin/faults')).json).toEqual(merged.json);
    expect((await sim.admin('POST', '/__admin/faults', { apiErrorRate: 2 })).status).toBe(400);
    expect((await sim.admin('POST', '/__admin/faults', { bogus: 1 })).status).toBe(400);
    await sim.admin('DELETE', '/__admin/faults');
    expect((await sim.admin('GET', '/__admin/faults')).json).toEqual({});
  });
});

describe('API faults', () => {
  it('apiErrorRate returns a Stripe-shaped 500 api_error and changes nothing', async () => {
    await sim.admin('POST', '/__admin/faults', { apiErrorRate: 1 });
    const error = await sim.stripe.paymentIntents.create({ amount: 100, currency: 'usd', metadata: { marker: 'err' } }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(Stripe.errors.StripeAPIError);
    expect((error as { statusCode?: number }).statusCode).toBe(500);
    await sim.admin('DELETE', '/__admin/faults');
    expect(await paymentIntentsWithMarker('err')).toHaveLength(0);
    expect((await apiLog()).some((entry) => entry.outcome === 'fault_api_error' && entry.status === 500)).toBe(true);
  });

  it('faults can target path prefixes', async () => {
    await sim.admin('POST', '/__admin/faults', { apiErrorRate: 1, paths: ['/v1/payouts'] });
    await expect(sim.stripe.paymentIntents.create({ amount: 100, currency: 'usd' })).resolves.toBeDefined();
    await expect(sim.stripe.payouts.create({ amount: 100, currency: 'usd' })).rejects.toBeInstanceOf(Stripe.errors.StripeAPIError);
  });

  it('apiLatencyMs delays the answer', async () => {
    await sim.admin('POST', '/__admin/faults', { apiLatencyMs: 250 });
    const startedMs = Date.now();
    await sim.stripe.balance.retrieve();
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(240);
  });

  it('a timeout withholds the answer; the operation is applied or not, the log says which, and a retry with the key is consistent', async () => {
    await sim.admin('POST', '/__admin/faults', { apiTimeoutRate: 1, paths: ['/v1/payment_intents'] });
    const impatient = stripeClient(sim.port, { timeoutMs: 150 });
    const seen = new Map<boolean, string>();
    for (let attempt = 0; attempt < 40 && seen.size < 2; attempt++) {
      const marker = `timeout-${attempt}`;
      const error = await impatient.paymentIntents.create({ amount: 100, currency: 'usd', metadata: { marker } }, { idempotencyKey: `key-${marker}` }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(Stripe.errors.StripeConnectionError);
      const entry = (await apiLog()).reverse().find((logged) => logged.idempotencyKey === `key-${marker}` && logged.outcome === 'fault_timeout');
      expect(entry).toBeDefined();
      if (entry && !seen.has(entry.applied)) seen.set(entry.applied, marker);
    }
    expect([...seen.keys()].sort()).toEqual([false, true]);
    await sim.admin('DELETE', '/__admin/faults');
    for (const [applied, marker] of seen) {
      expect(await paymentIntentsWithMarker(marker)).toHaveLength(applied ? 1 : 0);
      const retried = await sim.stripe.paymentIntents.create({ amount: 100, currency: 'usd', metadata: { marker } }, { idempotencyKey: `key-${marker}` });
      expect(retried.lastResponse.headers['idempotent-replayed'] === 'true').toBe(applied);
      expect(await paymentIntentsWithMarker(marker)).toHaveLength(1);
    }
  });

  it('a withheld answer is cut off at apiTimeoutHangMs', async () => {
    await sim.admin('POST', '/__admin/config', { apiTimeoutHangMs: 200 });
    await sim.admin('POST', '/__admin/faults', { apiTimeoutRate: 1 });
    const startedMs = Date.now();
    const error = await fetch(`${sim.url}/v1/balance`, { headers: { authorization: 'Bearer sk_test_x' } }).catch((caught: unknown) => caught);
    expect((error as Error).message).toBe('fetch failed');
    expect(Date.now() - startedMs).toBeGreaterThanOrEqual(190);
    await sim.admin('POST', '/__admin/config', { apiTimeoutHangMs: 3000 });
  });
});

describe('webhook faults', () => {
  async function transfer(marker: string): Promise<Stripe.Transfer> {
    return sim.stripe.transfers.create({ amount: 100, currency: 'usd', destination: 'acct_x', metadata: { marker } });
  }

  function deliveriesOf(transferId: string) {
    return sim.webhooks.deliveries.filter((delivery) => (delivery.event.data.object as { id?: string }).id === transferId);
  }

  it('a dropped webhook is never delivered, but the event exists', async () => {
    await sim.admin('POST', '/__admin/faults', { webhookDropRate: 1 });
    const created = await transfer('drop');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(deliveriesOf(created.id)).toHaveLength(0);
    const events = await sim.stripe.events.list({ type: 'transfer.created', limit: 10 });
    const event = events.data.find((item) => (item.data.object as Stripe.Transfer).id === created.id);
    expect(event).toBeDefined();
    const { json } = await sim.admin<{ entries: WebhookLogEntry[] }>('GET', '/__admin/log?kind=webhook');
    expect(json.entries.some((entry) => entry.eventId === event?.id && entry.outcome === 'dropped')).toBe(true);
  });

  it('a duplicated webhook arrives twice with the same event id', async () => {
    await sim.admin('POST', '/__admin/faults', { webhookDuplicateRate: 1 });
    const created = await transfer('dup');
    await poll(() => (deliveriesOf(created.id).length >= 2 ? true : undefined), 3000, 'two deliveries');
    const [first, second] = deliveriesOf(created.id);
    expect(first?.event.id).toBe(second?.event.id);
  });

  it('webhookDelayMs delays delivery', async () => {
    await sim.admin('POST', '/__admin/faults', { webhookDelayMs: 400 });
    const startedMs = Date.now();
    const created = await transfer('delay');
    await poll(() => deliveriesOf(created.id)[0], 3000, 'delayed delivery');
    expect((deliveriesOf(created.id)[0]?.atMs ?? 0) - startedMs).toBeGreaterThanOrEqual(380);
  });

  it('webhookShuffle delivers out of order', async () => {
    await sim.admin('POST', '/__admin/faults', { webhookShuffle: true });
    const ids: string[] = [];
    for (let index = 0; index < 12; index++) ids.push((await transfer(`shuffle-${index}`)).id);
    await poll(() => (ids.every((id) => deliveriesOf(id).length > 0) ? true : undefined), 3000, 'all deliveries');
    const arrival = sim.webhooks.deliveries.map((delivery) => (delivery.event.data.object as { id?: string }).id).filter((id): id is string => ids.includes(id ?? ''));
    expect(arrival).not.toEqual(ids);
    expect([...arrival].sort()).toEqual([...ids].sort());
  });
});
