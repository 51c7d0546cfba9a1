// The messaging kit's Prometheus metrics against the real PostgreSQL and RabbitMQ: what the relay
// published (and failed to), the outbox backlog read at scrape time, each delivery's outcome, and
// the work and dead-letter queue depths read from the broker.
import { Registry } from 'prom-client';
import { Connection } from 'rabbitmq-client';
import { startConsumers, defineConsumer, type RunningConsumers } from './consumer.js';
import { newEvent } from './envelope.js';
import { NonRetryableError, RetryableError } from './failures.js';
import { messagingMetrics, registerOutboxBacklog, registerQueueDepths } from './metrics.js';
import { createOutboxRelay } from './outbox.js';
import { eventMessage, startHarness, waitFor, type Harness } from './test-harness.js';

let h: Harness;
const running: RunningConsumers[] = [];

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  for (const consumers of running) await consumers.stop();
  await h?.close();
});

/** A metric's samples as label set → value, read the way a scrape reads them (collect() runs). */
async function samples(registry: Registry, name: string): Promise<Map<string, number>> {
  const metric = registry.getSingleMetric(name);
  if (!metric) throw new Error(`${name} is not registered`);
  const { values } = await metric.get();
  return new Map(values.map((sample) => [JSON.stringify(sample.labels), sample.value]));
}

async function sample(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  return (await samples(registry, name)).get(JSON.stringify(labels));
}

test('the relay counts what it published by event type, a failed publish apart, and the backlog gauge reads the unpublished rows', async () => {
  const registry = new Registry();
  const metrics = messagingMetrics(registry);
  const relay = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger, metrics });
  registerOutboxBacklog(registry, () => relay.backlog(), h.logger);
  const tap = `${h.prefix}.tap-metrics`;
  await h.broker.connection.queueDeclare({ queue: tap, durable: true, arguments: { 'x-queue-type': 'quorum' } });
  for (const routingKey of ['payment.succeeded', 'order.delivered']) await h.broker.connection.queueBind({ queue: tap, exchange: h.exchange, routingKey });

  await h.commitEvent(newEvent('payment.succeeded', 1, 'pay_m1', { paymentId: 'pay_m1' }));
  await h.commitEvent(newEvent('payment.succeeded', 1, 'pay_m2', { paymentId: 'pay_m2' }));
  await h.commitEvent(newEvent('order.delivered', 1, 'pay_m1', { paymentId: 'pay_m1' }));
  // Nobody is bound to this durable event type: its publish is refused as unroutable and retried later.
  await h.commitEvent(newEvent('payout.paid', 1, 'po_m1', { payoutId: 'po_m1' }));
  expect(await sample(registry, 'clearhouse_outbox_backlog')).toBe(4);

  expect(await relay.runOnce()).toBe(3);
  await relay.stop();

  expect(await sample(registry, 'clearhouse_outbox_published_total', { event_type: 'payment.succeeded' })).toBe(2);
  expect(await sample(registry, 'clearhouse_outbox_published_total', { event_type: 'order.delivered' })).toBe(1);
  expect(await sample(registry, 'clearhouse_outbox_published_total', { event_type: 'payout.paid' })).toBeUndefined();
  expect(await sample(registry, 'clearhouse_outbox_publish_failures_total', { event_type: 'payout.paid' })).toBe(1);
  expect(await sample(registry, 'clearhouse_outbox_backlog')).toBe(1);
});

test('each delivery is counted by outcome, and the work and dead-letter queue depths come from the broker', async () => {
  const registry = new Registry();
  const metrics = messagingMetrics(registry);
  const outcomes = { handled: 0 };
  const consumers = await startConsumers({
    connection: h.broker.connection,
    db: h.db,
    prefix: h.prefix,
    logger: h.logger,
    retryTiersMs: [50],
    metrics,
    consumers: [
      defineConsumer<{ kind: string }>({
        name: 'metered',
        routingKeys: ['dispute.opened'],
        async handle(event, tx) {
          if (event.payload.kind === 'refuse') throw new NonRetryableError('this dispute cannot be booked');
          if (event.payload.kind === 'flaky') throw new RetryableError('the database is restarting');
          outcomes.handled++;
          await h.recordEffect(tx, 'metered', event.messageId);
        },
      }),
    ],
  });
  running.push(consumers);
  registerQueueDepths(registry, h.broker.connection, () => consumers.queues, h.logger);
  expect(consumers.queues).toEqual([{ consumer: 'metered', queue: `${h.prefix}.metered`, deadLetterQueue: `${h.prefix}.metered.dlq` }]);

  const ok = newEvent('dispute.opened', 1, 'pay_d1', { kind: 'ok' });
  const publish = (event: ReturnType<typeof newEvent>) => {
    const { properties, body } = eventMessage(event);
    return h.publishRaw(h.broker.connection, event.type, body, properties);
  };
  await publish(ok);
  await publish(ok); // the same message id again: an inbox hit
  await publish(newEvent('dispute.opened', 1, 'pay_d2', { kind: 'refuse' }));
  await publish(newEvent('dispute.opened', 1, 'pay_d3', { kind: 'flaky' })); // one retry tier, then parked
  await h.publishRaw(h.broker.connection, 'dispute.opened', Buffer.from('not an envelope'));

  const consumed = (outcome: string) => sample(registry, 'clearhouse_messages_consumed_total', { consumer: 'metered', outcome });
  await waitFor('every delivery counted', async () => (await consumed('dead_lettered')) === 3 && (await consumed('retry_scheduled')) === 1);
  expect(await consumed('handled')).toBe(1);
  expect(await consumed('duplicate')).toBe(1);
  expect(outcomes.handled).toBe(1);
  expect(await h.effectCount(ok.messageId)).toBe(1);

  await waitFor('the parked messages visible in the dead-letter queue', async () => (await sample(registry, 'clearhouse_queue_messages', { consumer: 'metered', queue: `${h.prefix}.metered.dlq`, kind: 'dead_letter' })) === 3);
  expect(await sample(registry, 'clearhouse_queue_messages', { consumer: 'metered', queue: `${h.prefix}.metered`, kind: 'work' })).toBe(0);
});

test('a queue the broker does not know reads -1 instead of failing the scrape', async () => {
  const registry = new Registry();
  registerQueueDepths(registry, h.broker.connection, () => [{ consumer: 'ghost', queue: `${h.prefix}.ghost`, deadLetterQueue: `${h.prefix}.ghost.dlq` }], h.logger);
  const depths = await samples(registry, 'clearhouse_queue_messages');
  expect([...depths.values()]).toEqual([-1, -1]);
  // The broker connection is still usable afterwards (the failed passive declare closed only its channel).
  const { messageCount } = await h.broker.connection.queueDeclare({ queue: `${h.prefix}.metered`, passive: true });
  expect(messageCount).toBe(0);
});

test('while the broker is unreachable every queue reads -1 at once, without a declare waiting out the scrape timeout (2 s)', async () => {
  // Nothing listens on port 1: the connection never becomes ready.
  const down = new Connection({ url: 'amqp://guest:guest@127.0.0.1:1', retryLow: 1_000, retryHigh: 1_000 });
  down.on('error', () => undefined);
  try {
    const registry = new Registry();
    registerQueueDepths(registry, down, () => [{ consumer: 'metered', queue: `${h.prefix}.metered`, deadLetterQueue: `${h.prefix}.metered.dlq` }], h.logger);
    const startedMs = Date.now();
    const depths = await samples(registry, 'clearhouse_queue_messages');
    expect([...depths.values()]).toEqual([-1, -1]);
    expect(Date.now() - startedMs).toBeLessThan(1_000);
  } finally {
    await down.close();
  }
});
