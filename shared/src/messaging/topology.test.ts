// The kit's queues as the real broker holds them (management API). Every declaration spells out
// its queue type and, for quorum queues, its delivery limit: RabbitMQ 4.x gives a quorum queue
// without one a limit of 20 deliveries, after which the broker drops the message (or
// dead-letters it, if the queue has a dead-letter target). RabbitMQ 4.0-4.2 count every return
// against it, and the operator commands read a DLQ by taking each message and returning it.
import { createTestBroker, DEFAULT_MANAGEMENT_URL, type TestBroker } from '../testkit/broker.js';
import { listDeadLetters, queueDepth } from './dead-letters.js';
import { ConfirmPublisher } from './publisher.js';
import { consumerTopology, DEAD_LETTER_DELIVERY_LIMIT, declareConsumerTopology, DELIVERY_LIMIT, type ConsumerTopology } from './topology.js';

/** RabbitMQ 4.x's default delivery limit of a quorum queue declared without one. */
const RABBITMQ_4_DEFAULT_DELIVERY_LIMIT = 20;

let broker: TestBroker;

beforeAll(async () => {
  broker = await createTestBroker();
});

afterAll(async () => {
  await broker?.cleanup();
});

interface QueueInfo {
  type: string;
  durable: boolean;
  arguments: Record<string, unknown>;
}

async function queueInfo(queue: string): Promise<QueueInfo> {
  const url = new URL(process.env.RABBITMQ_MANAGEMENT_URL ?? DEFAULT_MANAGEMENT_URL);
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(url.username || 'guest')}:${decodeURIComponent(url.password || 'guest')}`).toString('base64')}`;
  const response = await fetch(`${url.origin}/api/queues/${encodeURIComponent('/')}/${encodeURIComponent(queue)}`, { headers: { authorization } });
  if (!response.ok) throw new Error(`management API answered ${response.status} for ${queue}`);
  const info = (await response.json()) as QueueInfo;
  return { type: info.type, durable: info.durable, arguments: info.arguments };
}

function topologyFor(consumerName: string): ConsumerTopology {
  return consumerTopology(broker.prefix, consumerName, ['payment.succeeded'], [100, 200]);
}

test('every queue of a consumer is declared with its type and, when quorum, its delivery limit', async () => {
  const topology = topologyFor('declared');
  await declareConsumerTopology(broker.connection, topology);
  // Declaring again (every service start) is accepted: the arguments are the same.
  await declareConsumerTopology(broker.connection, topology);

  expect(await queueInfo(topology.queue)).toEqual({
    type: 'quorum',
    durable: true,
    arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': DELIVERY_LIMIT, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': topology.deadLetterQueue },
  });
  const deadLetterQueue = await queueInfo(topology.deadLetterQueue);
  expect(deadLetterQueue).toEqual({ type: 'quorum', durable: true, arguments: { 'x-queue-type': 'quorum', 'x-delivery-limit': expect.any(Number) } });
  // Explicit, and out of reach of operator walks (a million of them over one letter); -1, 4.x's
  // "unlimited", would drop a message on its first return on 3.x.
  expect(deadLetterQueue.arguments['x-delivery-limit']).toBe(DEAD_LETTER_DELIVERY_LIMIT);
  expect(DEAD_LETTER_DELIVERY_LIMIT).toBeGreaterThanOrEqual(1_000_000);
  for (const tier of topology.retryQueues) {
    expect(await queueInfo(tier.queue)).toEqual({
      type: 'classic',
      durable: true,
      arguments: { 'x-queue-type': 'classic', 'x-message-ttl': tier.delayMs, 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': topology.queue },
    });
  }
});

test('a dead letter stays put however often operators list it: more walks than RabbitMQ 4.x\'s default limit', async () => {
  const topology = topologyFor('peeked');
  await declareConsumerTopology(broker.connection, topology);
  const publisher = new ConfirmPublisher(broker.connection);
  try {
    await publisher.publish({ exchange: '', routingKey: topology.deadLetterQueue, durable: true, messageId: 'dl-peeked-1' }, Buffer.from('{"parked":true}'));
  } finally {
    await publisher.close();
  }
  const walks = RABBITMQ_4_DEFAULT_DELIVERY_LIMIT + 5;
  for (let walk = 0; walk < walks; walk++) {
    const listed = await listDeadLetters({ connection: broker.connection, deadLetterQueue: topology.deadLetterQueue });
    expect(listed.map((letter) => letter.messageId)).toEqual(['dl-peeked-1']);
  }
  const [last] = await listDeadLetters({ connection: broker.connection, deadLetterQueue: topology.deadLetterQueue });
  // The broker counted every return, and the message is still there.
  expect(Number(last?.headers['x-delivery-count'])).toBeGreaterThan(RABBITMQ_4_DEFAULT_DELIVERY_LIMIT);
  expect(await queueDepth(broker.connection, topology.deadLetterQueue)).toBe(1);
});

test('a DLQ declared by an earlier version (no explicit delivery limit) is kept with its messages, and reported', async () => {
  const topology = topologyFor('legacy');
  await broker.connection.queueDeclare({ queue: topology.deadLetterQueue, durable: true, arguments: { 'x-queue-type': 'quorum' } });
  const publisher = new ConfirmPublisher(broker.connection);
  try {
    await publisher.publish({ exchange: '', routingKey: topology.deadLetterQueue, durable: true, messageId: 'dl-legacy-1' }, Buffer.from('{}'));
  } finally {
    await publisher.close();
  }
  const declared = await declareConsumerTopology(broker.connection, topology);
  expect(declared).toEqual({ outdatedDeadLetterQueue: true });
  expect(await queueInfo(topology.deadLetterQueue)).toMatchObject({ type: 'quorum', arguments: { 'x-queue-type': 'quorum' } });
  expect(await queueDepth(broker.connection, topology.deadLetterQueue)).toBe(1);
  // The rest of the topology is declared as usual.
  expect(await queueInfo(topology.queue)).toMatchObject({ type: 'quorum', arguments: { 'x-delivery-limit': DELIVERY_LIMIT } });
  expect(await Promise.all(topology.retryQueues.map(async (tier) => (await queueInfo(tier.queue)).type))).toEqual(['classic', 'classic']);
  // A fresh topology is not reported.
  expect(await declareConsumerTopology(broker.connection, topologyFor('fresh'))).toEqual({ outdatedDeadLetterQueue: false });
});
