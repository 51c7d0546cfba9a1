import Stripe from 'stripe';
import type { WebhookLogEntry } from './requestLog.js';
import { retryDelayMs, signPayload } from './webhooks.js';
import { defaultRuntimeConfig } from './config.js';
import { poll, startTestSimulator, webhookSecret, type TestSimulator } from '../testkit/testkit.js';

describe('webhook signing and backoff (pure)', () => {
  it('signs exactly like Stripe so that constructEvent accepts it', () => {
    const stripe = new Stripe('sk_test_x');
    const payload = JSON.stringify({ id: 'evt_1', object: 'event', type: 'payment_intent.succeeded', data: { object: {} } });
    const header = signPayload(payload, 'whsec_abc', Math.floor(Date.now() / 1000));
    expect(header).toMatch(/^t=\d+,v1=[0-9a-f]{64}$/);
    expect(stripe.webhooks.constructEvent(payload, header, 'whsec_abc').id).toBe('evt_1');
    expect(() => stripe.webhooks.constructEvent(payload, header, 'whsec_other')).toThrow();
  });

  it('doubles the delay per attempt up to the cap', () => {
    const config = { ...defaultRuntimeConfig, webhookRetryBaseMs: 500, webhookRetryMaxDelayMs: 4000 };
    expect([1, 2, 3, 4, 5, 6].map((attempt) => retryDelayMs(attempt, config))).toEqual([500, 1000, 2000, 4000, 4000, 4000]);
  });
});

describe('webhook delivery', () => {
  let sim: TestSimulator;

  beforeAll(async () => {
    sim = await startTestSimulator();
  });
  afterAll(async () => {
    await sim.stop();
  });
  afterEach(() => {
    sim.webhooks.respond = () => 200;
  });

  it('delivers Stripe-shaped, signed events with the request id and idempotency key', async () => {
    const transfer = await sim.stripe.transfers.create({ amount: 100, currency: 'usd', destination: 'acct_1' }, { idempotencyKey: 'key-shape' });
    const event = await sim.webhooks.waitFor((received) => received.type === 'transfer.created' && (received.data.object as Stripe.Transfer).id === transfer.id);
    expect(event.id).toMatch(/^evt_/);
    expect(event).toMatchObject({ object: 'event', livemode: false, pending_webhooks: 1, request: { idempotency_key: 'key-shape' } });
    expect(event.request?.id).toMatch(/^req_/);
    expect(typeof event.api_version).toBe('string');
    expect(typeof event.created).toBe('number');
    expect(sim.webhooks.rejectedSignatures).toEqual([]);
    expect(webhookSecret).toBe('whsec_test_secret');
  });

  it('retries a non-2xx answer with exponential backoff until it is accepted', async () => {
    sim.webhooks.respond = (event, attempt) => (event.type === 'transfer.created' && attempt <= 2 ? 500 : 200);
    const transfer = await sim.stripe.transfers.create({ amount: 101, currency: 'usd', destination: 'acct_1' });
    const mine = () => sim.webhooks.deliveries.filter((delivery) => (delivery.event.data.object as { id?: string }).id === transfer.id);
    await poll(() => (mine().some((delivery) => delivery.status === 200) ? true : undefined), 3000, 'accepted delivery');
    const attempts = mine();
    expect(attempts.map((delivery) => delivery.status)).toEqual([500, 500, 200]);
    const gaps = [attempts[1]!.atMs - attempts[0]!.atMs, attempts[2]!.atMs - attempts[1]!.atMs];
    expect(gaps[0]).toBeGreaterThanOrEqual(45);
    expect(gaps[1]).toBeGreaterThanOrEqual(95);
    const { json } = await sim.admin<{ entries: WebhookLogEntry[] }>('GET', '/__admin/log?kind=webhook');
    const logged = json.entries.filter((entry) => entry.eventId === attempts[0]!.event.id);
    expect(logged.map((entry) => [entry.attempt, entry.status, entry.outcome])).toEqual([
      [1, 500, 'failed'],
      [2, 500, 'failed'],
      [3, 200, 'delivered'],
    ]);
  });

  it('gives up after webhookMaxAttempts', async () => {
    sim.webhooks.respond = (event) => (event.type === 'transfer.created' ? 503 : 200);
    const transfer = await sim.stripe.transfers.create({ amount: 102, currency: 'usd', destination: 'acct_1' });
    const mine = () => sim.webhooks.deliveries.filter((delivery) => (delivery.event.data.object as { id?: string }).id === transfer.id);
    const eventId = await poll(() => mine()[0]?.event.id, 2000, 'first attempt');
    const gaveUp = async () => {
      const { json } = await sim.admin<{ entries: WebhookLogEntry[] }>('GET', '/__admin/log?kind=webhook');
      return json.entries.find((entry) => entry.eventId === eventId && entry.outcome === 'gave_up');
    };
    const last = await poll(gaveUp, 4000, 'gave up');
    expect(last.attempt).toBe(5);
    expect(mine()).toHaveLength(5);
  });

  it('the log can be filtered by kind, limit and since', async () => {
    const { json } = await sim.admin<{ entries: WebhookLogEntry[] }>('GET', '/__admin/log?kind=webhook&limit=1000');
    expect(Array.isArray(json.entries)).toBe(true);
    const since = new Date(Date.now() + 60_000).toISOString();
    const later = await sim.admin<{ entries: WebhookLogEntry[] }>('GET', `/__admin/log?since=${encodeURIComponent(since)}`);
    expect(later.json.entries).toEqual([]);
  });
});
