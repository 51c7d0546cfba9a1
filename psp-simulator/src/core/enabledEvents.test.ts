import { Pool } from 'pg';
import type Stripe from 'stripe';
import { EnabledEventTypes, eventTypePatternProblems } from './enabledEvents.js';
import type { WebhookLogEntry } from './requestLog.js';
import { startSimulator } from '../server.js';
import { payOnPage, poll, startTestSimulator, type StripeEventPayload, type TestSimulator } from '../testkit/testkit.js';

describe('enabled event types (pure)', () => {
  it('* enables every type', () => {
    const enabled = EnabledEventTypes.all();
    for (const type of ['payment_intent.succeeded', 'charge.dispute.created', 'transfer.created']) expect(enabled.matches(type)).toBe(true);
  });

  it('a trailing wildcard enables the types under that prefix, and only those', () => {
    const enabled = new EnabledEventTypes(['payment_intent.*', 'charge.dispute.*']);
    expect(enabled.matches('payment_intent.succeeded')).toBe(true);
    expect(enabled.matches('payment_intent.amount_capturable_updated')).toBe(true);
    expect(enabled.matches('charge.dispute.closed')).toBe(true);
    expect(enabled.matches('payment_intent')).toBe(false);
    expect(enabled.matches('payment_intent.')).toBe(false);
    expect(enabled.matches('payment_intentx.succeeded')).toBe(false);
    expect(enabled.matches('charge.succeeded')).toBe(false);
    expect(enabled.matches('checkout.session.completed')).toBe(false);
  });

  it('exact types enable exactly those types', () => {
    const enabled = new EnabledEventTypes(['payment_intent.succeeded', 'refund.*']);
    expect(enabled.matches('payment_intent.succeeded')).toBe(true);
    expect(enabled.matches('refund.updated')).toBe(true);
    expect(enabled.matches('payment_intent.succeeded.extra')).toBe(false);
    expect(enabled.matches('payment_intent.created')).toBe(false);
  });

  it('accepts the list the payments endpoint uses', () => {
    const list = ['payment_intent.requires_action', 'checkout.session.async_payment_failed', 'charge.refund.updated', 'refund.*', 'charge.dispute.*', 'payout.*', '*'];
    expect(eventTypePatternProblems(list)).toEqual([]);
  });

  it.each([
    [[], 'is empty: must list at least one event type, or * for all'],
    [[''], 'is empty: must list at least one event type, or * for all'],
    [['payment_intent.*', ''], 'entry 2 is empty (a stray comma?)'],
    [['payment intent.succeeded'], '"payment intent.succeeded" is not an event type'],
    [['payment_intent.*.created'], '"payment_intent.*.created" is not an event type'],
    [['payment_intent*'], '"payment_intent*" is not an event type'],
    [['*.succeeded'], '"*.succeeded" is not an event type'],
    [['**'], '"**" is not an event type'],
    [['.succeeded'], '".succeeded" is not an event type'],
    [['payment_intent.'], '"payment_intent." is not an event type'],
    [['Payment_Intent.Succeeded'], '"Payment_Intent.Succeeded" is not an event type'],
    [[`a.${'b'.repeat(200)}`], 'entry 1 is longer than 200 characters'],
  ])('refuses %j', (patterns, problem) => {
    const problems = eventTypePatternProblems(patterns);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain(problem);
    expect(() => new EnabledEventTypes(patterns)).toThrow(/invalid webhook event types/);
  });

  it('startSimulator refuses invalid patterns before it touches the database', async () => {
    const started = startSimulator({ port: 0, databaseUrl: 'postgresql://nobody@127.0.0.1:1/never', webhookEvents: ['payment_intent.*', 'charge succeeded'], logLevel: 'silent' });
    await expect(started).rejects.toThrow('invalid webhook event types: "charge succeeded" is not an event type');
  });
});

/** The events of one card payment through a Checkout Session, oldest first. */
function belongsTo(paymentIntentId: string) {
  return (event: { data: { object: unknown } }): boolean => {
    const object = event.data.object as { id?: string; payment_intent?: string | null };
    return object.id === paymentIntentId || object.payment_intent === paymentIntentId;
  };
}

async function payByCard(sim: TestSimulator, marker: string): Promise<string> {
  const session = await sim.stripe.checkout.sessions.create({
    mode: 'payment',
    line_items: [{ price_data: { currency: 'eur', unit_amount: 1250, product_data: { name: marker } }, quantity: 1 }],
    metadata: { marker },
  });
  const paid = await payOnPage(`${sim.url}${new URL(session.url ?? '').pathname}`, '4242 4242 4242 4242');
  expect(paid.status).toBe(200);
  return session.payment_intent as string;
}

async function eventsOfPayment(sim: TestSimulator, paymentIntentId: string): Promise<Stripe.Event[]> {
  const events: Stripe.Event[] = [];
  for await (const event of sim.stripe.events.list({ limit: 100 })) if (belongsTo(paymentIntentId)(event)) events.push(event);
  return events.reverse();
}

const cardPaymentTypes = ['payment_intent.created', 'charge.succeeded', 'payment_intent.succeeded', 'checkout.session.completed'];

/** Waits until every event in `expected` was accepted, then a little longer for strays. */
async function deliveredTypes(sim: TestSimulator, paymentIntentId: string, expected: string[]): Promise<string[]> {
  const mine = (): StripeEventPayload[] => sim.webhooks.accepted().filter(belongsTo(paymentIntentId));
  const types = (): string[] => mine().map((event) => event.type);
  await poll(() => (expected.every((type) => types().includes(type)) ? true : undefined), 5000, `deliveries of ${expected.join(', ')}`);
  const strayWindowMs = 300;
  await new Promise((resolve) => setTimeout(resolve, strayWindowMs));
  return [...types()].sort();
}

async function webhookLog(sim: TestSimulator): Promise<WebhookLogEntry[]> {
  const { json } = await sim.admin<{ entries: WebhookLogEntry[] }>('GET', '/__admin/log?kind=webhook');
  return json.entries;
}

describe('webhook endpoint enabled for payment_intent.*', () => {
  let sim: TestSimulator;

  beforeAll(async () => {
    sim = await startTestSimulator({ webhookEvents: ['payment_intent.*'] });
  });
  afterAll(async () => {
    await sim.stop();
  });
  afterEach(async () => {
    await sim.admin('DELETE', '/__admin/faults');
  });

  it('a card payment delivers only payment_intent.* events; the others exist in /v1/events with pending_webhooks 0', async () => {
    const paymentIntentId = await payByCard(sim, 'pi-only');
    const delivered = await deliveredTypes(sim, paymentIntentId, ['payment_intent.created', 'payment_intent.succeeded']);
    expect(delivered).toEqual(['payment_intent.created', 'payment_intent.succeeded']);

    const events = await eventsOfPayment(sim, paymentIntentId);
    expect(events.map((event) => event.type)).toEqual(cardPaymentTypes);
    for (const event of events) expect([event.type, event.pending_webhooks]).toEqual([event.type, event.type.startsWith('payment_intent.') ? 1 : 0]);

    const logged = (await webhookLog(sim)).filter((entry) => events.some((event) => event.id === entry.eventId));
    expect(logged.map((entry) => [entry.type, entry.outcome]).sort()).toEqual([
      ['payment_intent.created', 'delivered'],
      ['payment_intent.succeeded', 'delivered'],
    ]);
    expect(sim.webhooks.deliveries.filter((delivery) => !delivery.event.type.startsWith('payment_intent.'))).toEqual([]);
    expect(sim.webhooks.rejectedSignatures).toEqual([]);
  });

  it('persists delivery jobs only for enabled events (jobs held back by webhookDelayMs)', async () => {
    await sim.admin('POST', '/__admin/faults', { webhookDelayMs: 600_000 });
    const paymentIntentId = await payByCard(sim, 'pi-jobs');
    const events = await eventsOfPayment(sim, paymentIntentId);
    const pool = new Pool({ connectionString: sim.databaseUrl, max: 1 });
    pool.on('error', () => undefined);
    try {
      const { rows } = await pool.query<{ event_id: string }>(`SELECT data->'data'->>'eventId' AS event_id FROM jobs WHERE type = 'webhook'`);
      const scheduled = events.filter((event) => rows.some((row) => row.event_id === event.id)).map((event) => event.type);
      expect(scheduled.sort()).toEqual(['payment_intent.created', 'payment_intent.succeeded']);
    } finally {
      await pool.end();
    }
  });

  it('faults apply to enabled events only: a not-enabled event is not logged as dropped', async () => {
    await sim.admin('POST', '/__admin/faults', { webhookDropRate: 1 });
    const transfer = await sim.stripe.transfers.create({ amount: 100, currency: 'eur', destination: 'acct_enabled' });
    const paymentIntent = await sim.stripe.paymentIntents.create({ amount: 100, currency: 'eur' });
    const [transferEvent] = (await sim.stripe.events.list({ type: 'transfer.created', limit: 10 })).data.filter((event) => (event.data.object as Stripe.Transfer).id === transfer.id);
    const [createdEvent] = (await sim.stripe.events.list({ type: 'payment_intent.created', limit: 10 })).data.filter((event) => (event.data.object as Stripe.PaymentIntent).id === paymentIntent.id);
    expect(transferEvent?.pending_webhooks).toBe(0);
    expect(createdEvent?.pending_webhooks).toBe(0);
    const log = await webhookLog(sim);
    expect(log.filter((entry) => entry.eventId === transferEvent?.id)).toEqual([]);
    expect(log.filter((entry) => entry.eventId === createdEvent?.id).map((entry) => entry.outcome)).toEqual(['dropped']);
  });
});

describe('webhook endpoint enabled for a list of exact types', () => {
  let sim: TestSimulator;

  beforeAll(async () => {
    sim = await startTestSimulator({ webhookEvents: ['payment_intent.succeeded', 'checkout.session.completed'] });
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('delivers exactly those types', async () => {
    const paymentIntentId = await payByCard(sim, 'exact');
    const delivered = await deliveredTypes(sim, paymentIntentId, ['payment_intent.succeeded', 'checkout.session.completed']);
    expect(delivered).toEqual(['checkout.session.completed', 'payment_intent.succeeded']);
    const pending = (await eventsOfPayment(sim, paymentIntentId)).map((event) => [event.type, event.pending_webhooks]);
    expect(pending).toEqual([
      ['payment_intent.created', 0],
      ['charge.succeeded', 0],
      ['payment_intent.succeeded', 1],
      ['checkout.session.completed', 1],
    ]);
  });
});

describe('webhook endpoint enabled for * (the default)', () => {
  let sim: TestSimulator;

  beforeAll(async () => {
    sim = await startTestSimulator();
  });
  afterAll(async () => {
    await sim.stop();
  });

  it('delivers every event of a card payment', async () => {
    const paymentIntentId = await payByCard(sim, 'all');
    const delivered = await deliveredTypes(sim, paymentIntentId, cardPaymentTypes);
    expect(delivered).toEqual([...cardPaymentTypes].sort());
    const events = await eventsOfPayment(sim, paymentIntentId);
    expect(events.map((event) => [event.type, event.pending_webhooks])).toEqual(cardPaymentTypes.map((type) => [type, 1]));
  });
});
