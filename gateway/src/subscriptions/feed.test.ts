// The subscription feed against a real RabbitMQ: events reach the subscribers of their topic,
// and with no subscription at all they are dropped before decoding.
import { ConfirmPublisher, encodeEnvelope, eventProperties, eventsExchangeName, newEvent, createLogger, serializeEventPayload } from '@clearhouse/shared';
import { createTestBroker, type TestBroker } from '@clearhouse/shared/testkit';
import type { Consumer } from 'rabbitmq-client';
import { TopicBus } from './event-bus.js';
import { paymentTopic, startSubscriptionFeed, type SubscriptionEvent } from './feed.js';

class CountingBus extends TopicBus<SubscriptionEvent> {
  published = 0;
  override publish(topic: string, event: SubscriptionEvent): number {
    this.published++;
    return super.publish(topic, event);
  }
}

let broker: TestBroker;
let feed: Consumer;
let publisher: ConfirmPublisher;
const bus = new CountingBus();

beforeAll(async () => {
  broker = await createTestBroker();
  feed = startSubscriptionFeed({ connection: broker.connection, brokerPrefix: broker.prefix, bus, logger: createLogger({ service: 'test', level: 'silent' }) });
  await new Promise<void>((resolve) => feed.once('ready', () => resolve()));
  publisher = new ConfirmPublisher(broker.connection);
});

afterAll(async () => {
  await feed?.close();
  await publisher?.close();
  await broker?.cleanup();
});

async function publishStatusChanged(paymentId: string): Promise<void> {
  const payload = serializeEventPayload('payment.status_changed@1', { paymentId, from: 'REQUIRES_PAYMENT', to: 'SUCCEEDED', at: new Date(), currency: 'USD', refundedAmountMinor: 0n, sellerIds: ['s1'] });
  const event = newEvent('payment.status_changed', 1, paymentId, payload);
  await publisher.publish({ exchange: eventsExchangeName(broker.prefix), routingKey: event.type, ...eventProperties(event) }, encodeEnvelope(event));
}

async function waitFor(probe: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('an event reaches its topic only while someone subscribes; without subscribers it is not even decoded', async () => {
  await publishStatusChanged('pay_nobody');
  // Let the feed take it (a no-ack queue hands it over at once) before anyone subscribes.
  await new Promise((resolve) => setTimeout(resolve, 300));
  // A subscription to another payment: the feed decodes again and delivers to the right topic.
  const received: SubscriptionEvent[] = [];
  const unsubscribe = bus.subscribe(paymentTopic('pay_watched'), (event) => received.push(event));
  await publishStatusChanged('pay_watched');
  await waitFor(() => received.length === 1);
  expect(received[0]?.payload).toMatchObject({ paymentId: 'pay_watched', to: 'SUCCEEDED' });
  // The first event arrived before anyone subscribed (the queue is FIFO): it was dropped unseen.
  expect(bus.published).toBe(1);
  unsubscribe();
  await publishStatusChanged('pay_watched');
  await publishStatusChanged('pay_after');
  await new Promise((resolve) => setTimeout(resolve, 300));
  expect(bus.published).toBe(1);
  expect(received).toHaveLength(1);
});
