// timeline.recorded@1 through the real broker into Payment.timeline, once per message.
import { PrismaPg } from '@prisma/adapter-pg';
import { ConfirmPublisher, createPgDatabase, declareTopology, encodeEnvelope, eventProperties, newEvent, silentLogger, startConsumers, type ConsumerContext, type MessagingLogger, type RunningConsumers, type TimelineRecordedV1, type TransactionalDb } from '@clearhouse/shared';
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

test('a batch of entries is written in one go, in order, for known payments only; unknown ones are reported', async () => {
  await prisma.payment.create({ data: { id: 'pay_t2', status: 'SUCCEEDED', buyerId: 'b', currency: 'USD', amountMinor: 100n, idempotencyCallerId: 'c', idempotencyKey: 'k2' } });
  const at = new Date();
  const entry = (paymentId: string, type: string): TimelineRecordedV1 => ({ paymentId, source: 'wallet', type, message: type, data: null, at });
  const events = [entry('pay_t2', 'batch.first'), entry('pay_gone', 'batch.unknown'), entry('pay_t2', 'batch.second'), entry('pay_t1', 'batch.third')].map((payload) =>
    newEvent('timeline.recorded', 1, payload.paymentId, payload),
  );
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
    ['pay_t1', 'batch.third'],
  ]);
  expect(warned).toEqual([{ paymentId: 'pay_gone', type: 'batch.unknown' }]);
});
