// The subscription feed against a real RabbitMQ: its queue is bound to the subscription events
// only while some subscription demands them (the broker routes nothing to it otherwise), events
// reach the subscribers of their topic, and without subscribers they are dropped before decoding.
// The publisher is the platform's (mandatory publishes): an event no queue is bound to comes
// back as UnroutableError, which is how these tests see that the broker routed it nowhere.
import { ConfirmPublisher, UnroutableError, createLogger, encodeEnvelope, eventProperties, eventsExchangeName, newEvent, serializeEventPayload } from '@clearhouse/shared';
import { createTestBroker, type TestBroker } from '@clearhouse/shared/testkit';
import { Connection } from 'rabbitmq-client';
import { TopicBus } from './event-bus.js';
import { SubscriptionFeed, SubscriptionFeedUnavailableError, paymentTopic, startSubscriptionFeed, type SubscriptionEvent } from './feed.js';

const LINGER_MS = 300;
const logger = createLogger({ service: 'test', level: 'silent' });

class CountingBus extends TopicBus<SubscriptionEvent> {
  published = 0;
  override publish(topic: string, event: SubscriptionEvent): number {
    this.published++;
    return super.publish(topic, event);
  }
}

let broker: TestBroker;
let publisher: ConfirmPublisher;
const feeds: SubscriptionFeed[] = [];

beforeAll(async () => {
  broker = await createTestBroker();
  publisher = new ConfirmPublisher(broker.connection);
});

afterEach(async () => {
  for (const feed of feeds.splice(0)) await feed.close();
});

afterAll(async () => {
  await publisher?.close();
  await broker?.cleanup();
});

async function startFeed(options: { connection?: Connection; bus?: TopicBus<SubscriptionEvent>; bindTimeoutMs?: number } = {}): Promise<SubscriptionFeed> {
  const feed = startSubscriptionFeed({
    connection: options.connection ?? broker.connection,
    brokerPrefix: broker.prefix,
    bus: options.bus ?? new CountingBus(),
    logger,
    lingerMs: LINGER_MS,
    bindTimeoutMs: options.bindTimeoutMs ?? 5_000,
  });
  feeds.push(feed);
  await new Promise<void>((resolve) => feed.consumer.once('ready', () => resolve()));
  return feed;
}

async function publishStatusChanged(paymentId: string): Promise<void> {
  const payload = serializeEventPayload('payment.status_changed@1', { paymentId, from: 'REQUIRES_PAYMENT', to: 'SUCCEEDED', at: new Date(), currency: 'USD', refundedAmountMinor: 0n, sellerIds: ['s1'] });
  const event = newEvent('payment.status_changed', 1, paymentId, payload);
  await publisher.publish({ exchange: eventsExchangeName(broker.prefix), routingKey: event.type, ...eventProperties(event) }, encodeEnvelope(event));
}

async function waitFor(probe: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await sleep(20);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

test('with no demand the queue is not bound: the broker routes a published event nowhere', async () => {
  const bus = new CountingBus();
  const feed = await startFeed({ bus });
  const received: SubscriptionEvent[] = [];
  // Even a listener on the bus does not bind the queue: only a demand does.
  bus.subscribe(paymentTopic('pay_unbound'), (event) => received.push(event));
  await expect(publishStatusChanged('pay_unbound')).rejects.toThrow(UnroutableError);
  await sleep(200);
  expect(feed.stats).toEqual({ delivered: 0, binds: 0, unbinds: 0 });
  expect(received).toHaveLength(0);
});

test('a demand resolves once the queue is bound: an event published right after reaches its topic', async () => {
  const bus = new CountingBus();
  const feed = await startFeed({ bus });
  const received: SubscriptionEvent[] = [];
  const unsubscribe = bus.subscribe(paymentTopic('pay_watched'), (event) => received.push(event));
  const release = await feed.demand();
  await publishStatusChanged('pay_watched');
  await waitFor(() => received.length === 1);
  expect(received[0]?.payload).toMatchObject({ paymentId: 'pay_watched', to: 'SUCCEEDED' });
  expect(feed.stats.binds).toBe(1);
  // Bound but with nobody on the bus (a demand lingering on, say): delivered, dropped before decoding.
  unsubscribe();
  await publishStatusChanged('pay_watched');
  await waitFor(() => feed.stats.delivered === 2);
  expect(bus.published).toBe(1);
  release();
});

test('after the last release and the linger, the bindings go and events stop arriving', async () => {
  const feed = await startFeed();
  const release = await feed.demand();
  release();
  // Within the linger the bindings stay.
  await publishStatusChanged('pay_lingering');
  await waitFor(() => feed.stats.delivered === 1);
  await waitFor(() => feed.stats.unbinds === 1, LINGER_MS + 2_000);
  expect(feed.demands).toBe(0);
  await expect(publishStatusChanged('pay_after')).rejects.toThrow(UnroutableError);
  await sleep(200);
  expect(feed.stats.delivered).toBe(1);
});

test('a new demand within the linger keeps the bindings: no unbind, no second bind', async () => {
  const feed = await startFeed();
  const first = await feed.demand();
  first();
  await sleep(LINGER_MS / 3);
  const second = await feed.demand();
  // Well past the first linger: still bound, never unbound.
  await sleep(LINGER_MS * 2);
  expect(feed.stats).toMatchObject({ binds: 1, unbinds: 0 });
  await publishStatusChanged('pay_kept');
  await waitFor(() => feed.stats.delivered === 1);
  second();
  await waitFor(() => feed.stats.unbinds === 1, LINGER_MS + 2_000);
  expect(feed.stats.binds).toBe(1);
});

test('concurrent demands bind once, and the bindings stay until the last of them is released', async () => {
  const feed = await startFeed();
  const releases = await Promise.all([feed.demand(), feed.demand(), feed.demand(), feed.demand()]);
  expect(feed.stats.binds).toBe(1);
  expect(feed.demands).toBe(4);
  const [last, ...others] = releases;
  for (const release of others) {
    release();
    release(); // releasing twice counts once
  }
  expect(feed.demands).toBe(1);
  await sleep(LINGER_MS * 2);
  expect(feed.stats.unbinds).toBe(0);
  await publishStatusChanged('pay_shared');
  await waitFor(() => feed.stats.delivered === 1);
  last!();
  expect(feed.demands).toBe(0);
  await waitFor(() => feed.stats.unbinds === 1, LINGER_MS + 2_000);
  // A demand after the unbind binds again.
  const again = await feed.demand();
  expect(feed.stats.binds).toBe(2);
  await publishStatusChanged('pay_shared');
  await waitFor(() => feed.stats.delivered === 2);
  again();
});

test('when the broker drops the connection, the re-declared queue is bound again while a demand is held', async () => {
  const connection = await broker.connect('feed-reconnect');
  const bus = new CountingBus();
  const feed = await startFeed({ connection, bus });
  const received: SubscriptionEvent[] = [];
  bus.subscribe(paymentTopic('pay_reconnect'), (event) => received.push(event));
  const release = await feed.demand();
  const readyAgain = new Promise<void>((resolve) => feed.consumer.once('ready', () => resolve()));
  expect(await broker.closeConnections(['feed-reconnect'])).toBe(1);
  await readyAgain;
  await waitFor(() => feed.stats.binds === 2);
  await publishStatusChanged('pay_reconnect');
  await waitFor(() => received.length === 1);
  release();
  await waitFor(() => feed.stats.unbinds === 1, LINGER_MS + 2_000);
  await expect(publishStatusChanged('pay_reconnect')).rejects.toThrow(UnroutableError);
});

test('a demand the broker cannot bind fails with a clear error and is not held; a later one binds', async () => {
  const feed = await startFeed();
  // The bind fails with NOT_FOUND while the exchange is gone (the feed declared it at setup).
  await broker.connection.exchangeDelete({ exchange: eventsExchangeName(broker.prefix) });
  const failed = feed.demand();
  await expect(failed).rejects.toThrow(SubscriptionFeedUnavailableError);
  await expect(failed).rejects.toThrow(/NOT_FOUND|no exchange/);
  expect(feed.demands).toBe(0);
  await broker.connection.exchangeDeclare({ exchange: eventsExchangeName(broker.prefix), type: 'topic', durable: true });
  const release = await feed.demand();
  expect(feed.demands).toBe(1);
  await publishStatusChanged('pay_recovered');
  await waitFor(() => feed.stats.delivered === 1);
  release();
});

test('with the broker unreachable, a demand fails after the bind timeout instead of hanging', async () => {
  // acquireTimeout: closing the feed waits for the Consumer's pending setup, which waits that long for a connection.
  const unreachable = new Connection({ url: 'amqp://guest:guest@127.0.0.1:1', connectionName: `${broker.prefix}-unreachable`, acquireTimeout: 500 });
  unreachable.on('error', () => undefined);
  const feed = startSubscriptionFeed({ connection: unreachable, brokerPrefix: broker.prefix, bus: new CountingBus(), logger, lingerMs: LINGER_MS, bindTimeoutMs: 300 });
  try {
    const started = Date.now();
    await expect(feed.demand()).rejects.toThrow(/not declared within 300 ms|not bound within 300 ms/);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(feed.demands).toBe(0);
  } finally {
    await feed.close();
    await unreachable.close();
  }
});
