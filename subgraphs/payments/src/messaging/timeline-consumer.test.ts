// timeline.recorded (@1 and @2) through the real broker into Payment.timeline, once per message.
import { PrismaPg } from '@prisma/adapter-pg';
import { ConfirmPublisher, consumerQueueName, createPgDatabase, deadLetterQueueName, declareTopology, listDeadLetters, queueDepth, encodeEnvelope, eventProperties, newEvent, silentLogger, startConsumers, type ConsumerContext, type MessagingLogger, type RunningConsumers, type TimelineEntry, type TimelineRecordedV2, type TransactionalDb } from '@clearhouse/shared';
import { createTestBroker, createTestDatabase, type TestBroker, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import { timelineConsumer } from './timeline-consumer.js';

let database: TestDatabase;
let prisma: PrismaClient;
let broker: TestBroker;
let consumers: RunningConsumers;
let publisher: ConfirmPublisher;
let exchange: string;

beforeAll(async () => {
  database = await createTestDatabase('payments');
  prisma = new PrismaClient({ adapter: new PrismaPg({ connectionString: database.url }) });
  broker = await createTestBroker();
  exchange = (await declareTopology(broker.connection, broker.prefix)).exchange;
  consumers = await startConsumers({ connection: broker.connection, db: prisma as unknown as TransactionalDb, prefix: broker.prefix, logger: silentLogger, consumers: [timelineConsumer] });
  publisher = new ConfirmPublisher(broker.connection);
  await prisma.payment.create({ data: { id: 'pay_t1', status: 'SUCCEEDED', buyerId: 'b', currency: 'USD', amountMinor: 100n, idempotencyCallerId: 'c', idempotencyKey: 'k' } });
});

afterAll(async () => {
  await consumers?.stop();
  await publisher?.close();
  await broker?.cleanup();
  await prisma?.$disconnect();
  await database?.drop();
});

test('an entry from another service lands on the timeline once; unknown payments are dropped', async () => {
  const entry = { paymentId: 'pay_t1', source: 'ledger', type: 'ledger.transaction_posted', message: 'posted 1.00 USD', data: { transactionId: 'tx_1' }, at: new Date().toISOString() };
  const event = newEvent('timeline.recorded', 1, 'pay_t1', entry);
  const unknown = newEvent('timeline.recorded', 1, 'pay_nope', { ...entry, paymentId: 'pay_nope' });
  for (const e of [event, event, unknown]) await publisher.publish({ exchange, routingKey: e.type, ...eventProperties(e) }, encodeEnvelope(e));
  const deadline = Date.now() + 10_000;
  let rows = await prisma.timelineEvent.findMany({ where: { paymentId: 'pay_t1' } });
  for (let poll = 0; rows.length === 0 && Date.now() < deadline && poll < 100; poll++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    rows = await prisma.timelineEvent.findMany({ where: { paymentId: 'pay_t1' } });
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  rows = await prisma.timelineEvent.findMany({ where: { paymentId: 'pay_t1' } });
  expect(rows).toHaveLength(1);
  expect(rows[0]).toMatchObject({ source: 'ledger', type: 'ledger.transaction_posted', message: 'posted 1.00 USD', data: { transactionId: 'tx_1' } });
  expect(await prisma.timelineEvent.count({ where: { paymentId: 'pay_nope' } })).toBe(0);
});

async function timelineOf(paymentId: string): Promise<{ source: string; type: string; message: string; data: unknown }[]> {
  return prisma.timelineEvent.findMany({ where: { paymentId }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });
}

test('a @2 event lands with all its entries, in order, once; @1 and @2 events mix', async () => {
  await prisma.payment.create({ data: { id: 'pay_t3', status: 'SUCCEEDED', buyerId: 'b', currency: 'USD', amountMinor: 100n, idempotencyCallerId: 'c', idempotencyKey: 'k3' } });
  const at = new Date().toISOString();
  const grouped = newEvent('timeline.recorded', 2, 'pay_t3', {
    paymentId: 'pay_t3',
    entries: [
      { source: 'wallet', type: 'wallet.balance_changed', message: 'seller A pending +1.00', data: { sellerId: 'A' }, at },
      { source: 'wallet', type: 'wallet.balance_changed', message: 'seller B pending +2.00', data: { sellerId: 'B' }, at },
    ],
  });
  const single = newEvent('timeline.recorded', 1, 'pay_t3', { paymentId: 'pay_t3', source: 'ledger', type: 'ledger.transaction_posted', message: 'posted 3.00 USD', data: null, at });
  for (const e of [grouped, single, grouped]) await publisher.publish({ exchange, routingKey: e.type, ...eventProperties(e) }, encodeEnvelope(e));
  const deadline = Date.now() + 10_000;
  while ((await timelineOf('pay_t3')).length < 3 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  await new Promise((resolve) => setTimeout(resolve, 500));
  const rows = await timelineOf('pay_t3');
  expect(rows.map((row) => row.message).sort()).toEqual(['posted 3.00 USD', 'seller A pending +1.00', 'seller B pending +2.00']);
  // The entries of one event keep their order.
  const wallet = rows.filter((row) => row.source === 'wallet');
  expect(wallet.map((row) => row.data)).toEqual([{ sellerId: 'A' }, { sellerId: 'B' }]);
});

test('a @2 event without entries is parked in the dead-letter queue and writes nothing', async () => {
  await prisma.payment.create({ data: { id: 'pay_t4', status: 'SUCCEEDED', buyerId: 'b', currency: 'USD', amountMinor: 100n, idempotencyCallerId: 'c', idempotencyKey: 'k4' } });
  const empty = newEvent('timeline.recorded', 2, 'pay_t4', { paymentId: 'pay_t4', entries: [] });
  await publisher.publish({ exchange, routingKey: empty.type, ...eventProperties(empty) }, encodeEnvelope(empty));
  const dlq = deadLetterQueueName(consumerQueueName(broker.prefix, timelineConsumer.name));
  const deadline = Date.now() + 10_000;
  while ((await queueDepth(broker.connection, dlq)) < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
  const [letter] = await listDeadLetters({ connection: broker.connection, deadLetterQueue: dlq });
  expect(letter?.messageId).toBe(empty.messageId);
  expect(await timelineOf('pay_t4')).toEqual([]);
});

test('a batch of entries is written in one go, in order, for known payments only; unknown ones are reported', async () => {
  await prisma.payment.create({ data: { id: 'pay_t2', status: 'SUCCEEDED', buyerId: 'b', currency: 'USD', amountMinor: 100n, idempotencyCallerId: 'c', idempotencyKey: 'k2' } });
  const at = new Date();
  const entry = (type: string): TimelineEntry => ({ source: 'wallet', type, message: type, data: null, at });
  const payloads: TimelineRecordedV2[] = [
    { paymentId: 'pay_t2', entries: [entry('batch.first')] },
    { paymentId: 'pay_gone', entries: [entry('batch.unknown')] },
    { paymentId: 'pay_t2', entries: [entry('batch.second'), entry('batch.third')] },
    { paymentId: 'pay_t1', entries: [entry('batch.fourth')] },
  ];
  const events = payloads.map((payload) => newEvent('timeline.recorded', 2, payload.paymentId, payload));
  const warned: unknown[] = [];
  const logger = { ...silentLogger, warn: (fields: unknown) => void warned.push(fields) } as unknown as MessagingLogger;
  const ctxs = events.map((): ConsumerContext => ({ consumer: 'payments.timeline', queue: 'q', attempt: 1, redelivered: false, logger }));
  const pg = createPgDatabase(database.url, { poolMax: 1 });
  try {
    await pg.$transaction((tx) => timelineConsumer.handleBatch!(events, tx, ctxs));
  } finally {
    await pg.end();
  }
  const rows = await prisma.timelineEvent.findMany({ where: { type: { startsWith: 'batch.' } }, orderBy: [{ at: 'asc' }, { id: 'asc' }] });
  expect(rows.map((row) => [row.paymentId, row.type])).toEqual([
    ['pay_t2', 'batch.first'],
    ['pay_t2', 'batch.second'],
    ['pay_t2', 'batch.third'],
    ['pay_t1', 'batch.fourth'],
  ]);
  expect(warned).toEqual([{ paymentId: 'pay_gone', types: ['batch.unknown'] }]);
});
