import type { DomainEvent } from './envelope.js';
import { newEvent } from './envelope.js';
import { startConsumers, defineConsumer, type RunningConsumers } from './consumer.js';
import { queueDepth } from './dead-letters.js';
import { createOutboxRelay, RelayCrashForTest, writeOutbox } from './outbox.js';
import { startHarness, waitFor, type Harness } from './test-harness.js';
import { countingDatabase } from '../testkit/counting.js';
import { Sleeper } from './timing.js';

let h: Harness;
let consumers: RunningConsumers | undefined;
const handled: string[] = [];
const deliveries: string[] = [];

beforeAll(async () => {
  h = await startHarness();
  consumers = await startConsumers({
    connection: h.broker.connection,
    db: h.db,
    prefix: h.prefix,
    logger: h.logger,
    consumers: [
      defineConsumer({
        name: 'recorder',
        routingKeys: ['payment.succeeded'],
        async handle(event, tx) {
          handled.push(event.messageId);
          await h.recordEffect(tx, 'recorder', event.messageId);
        },
      }),
    ],
    afterCommitForTest: (event) => {
      deliveries.push(event.messageId);
    },
  });
});

afterAll(async () => {
  await consumers?.stop();
  await h?.close();
});

function paymentEvent(): DomainEvent<{ paymentId: string }> {
  const paymentId = `pay_${Math.random().toString(36).slice(2)}`;
  return newEvent('payment.succeeded', 1, paymentId, { paymentId });
}

async function unpublishedRow(id: string) {
  const rows = await h.db.$queryRawUnsafe<{ published_at: Date | null; attempts: number; last_error: string | null }[]>(
    `SELECT published_at, attempts, last_error FROM outbox_messages WHERE id = $1::uuid`,
    id,
  );
  return rows[0];
}

test('an event whose relay died after publishing is republished and takes effect exactly once', async () => {
  const event = paymentEvent();
  await h.commitEvent(event);

  const doomed = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger, crashAfterPublishForTest: true });
  await expect(doomed.runOnce()).rejects.toBeInstanceOf(RelayCrashForTest);
  await doomed.stop();
  // The broker has it, but the row was never marked: the crash rolled the marking back.
  expect((await unpublishedRow(event.messageId))?.published_at).toBeNull();
  await waitFor('first delivery', () => deliveries.includes(event.messageId));

  const relay = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger });
  expect(await relay.runOnce()).toBe(1);
  await relay.stop();
  expect((await unpublishedRow(event.messageId))?.published_at).toBeInstanceOf(Date);

  await waitFor('second delivery', () => deliveries.filter((id) => id === event.messageId).length === 2);
  expect(handled.filter((id) => id === event.messageId)).toHaveLength(1);
  expect(await h.effectCount(event.messageId)).toBe(1);
});

test('a rolled-back change publishes nothing; a committed one is published', async () => {
  const tap = `${h.prefix}.tap-rollback`;
  await h.broker.connection.queueDeclare({ queue: tap, durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await h.broker.connection.queueBind({ queue: tap, exchange: h.exchange, routingKey: 'order.delivered' });

  const rolledBack = newEvent('order.delivered', 1, 'ord_1', { orderId: 'ord_1' });
  await expect(
    h.db.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(`INSERT INTO msg_state (id) VALUES ($1)`, rolledBack.messageId);
      await writeOutbox(tx, rolledBack);
      throw new Error('business rule says no');
    }),
  ).rejects.toThrow('business rule says no');
  const committed = newEvent('order.delivered', 1, 'ord_2', { orderId: 'ord_2' });
  await h.commitEvent(committed);

  const relay = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger });
  expect(await relay.backlog()).toBe(1);
  expect(await relay.runOnce()).toBe(1);
  expect(await relay.runOnce()).toBe(0);
  await relay.stop();
  expect(await unpublishedRow(rolledBack.messageId)).toBeUndefined();
  await waitFor('committed event in tap', async () => (await queueDepth(h.broker.connection, tap)) === 1);
  const msg = await h.broker.connection.basicGet({ queue: tap, noAck: true });
  expect(msg?.messageId).toBe(committed.messageId);
  expect(msg?.correlationId).toBe('ord_2');
  expect(msg?.type).toBe('order.delivered');
  expect(msg?.contentType).toBe('application/json');
  expect(msg?.headers?.['x-schema-version']).toBe(1);
  expect(msg?.durable).toBe(true);
  expect(msg?.body).toMatchObject({ messageId: committed.messageId, type: 'order.delivered', schemaVersion: 1, payload: { orderId: 'ord_2' } });
});

test('an unroutable event stays unpublished with its error and is retried after a backoff', async () => {
  const event = newEvent('payout.paid', 1, 'po_1', { payoutId: 'po_1' });
  await h.commitEvent(event);
  // The first backoff is one poll interval: 1 s, so that a busy machine's pause between the two
  // polls below cannot outlast it (at 50 ms it did, with every core taken by parallel suites).
  const relay = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger, pollIntervalMs: 1000 });
  expect(await relay.runOnce()).toBe(0);
  const failed = await unpublishedRow(event.messageId);
  expect(failed?.published_at).toBeNull();
  expect(failed?.attempts).toBe(1);
  expect(failed?.last_error).toContain('unroutable');
  // Backed off: the next poll skips it.
  expect(await relay.runOnce()).toBe(0);
  expect((await unpublishedRow(event.messageId))?.attempts).toBe(1);

  const tap = `${h.prefix}.tap-payouts`;
  await h.broker.connection.queueDeclare({ queue: tap, durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await h.broker.connection.queueBind({ queue: tap, exchange: h.exchange, routingKey: 'payout.paid' });
  await waitFor('the backoff to pass and the event to be published', async () => (await relay.runOnce()) === 1, 10_000, 50);
  await relay.stop();
  const published = await unpublishedRow(event.messageId);
  expect(published?.published_at).toBeInstanceOf(Date);
  expect(published?.last_error).toBeNull();
  expect(await queueDepth(h.broker.connection, tap)).toBe(1);
});

test('a live-only event nobody watches is published without a queue; while a queue is bound, it arrives there', async () => {
  const unwatched = newEvent('payment.status_changed', 1, 'pay_live_1', { paymentId: 'pay_live_1' });
  await h.commitEvent(unwatched);
  const relay = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger, pollIntervalMs: 50 });
  try {
    expect(await relay.runOnce()).toBe(1);
    const published = await unpublishedRow(unwatched.messageId);
    expect(published?.published_at).toBeInstanceOf(Date);
    expect(published?.attempts).toBe(1);
    expect(published?.last_error).toBeNull();

    const watch = `${h.prefix}.tap-live`;
    await h.broker.connection.queueDeclare({ queue: watch, exclusive: true, autoDelete: true });
    await h.broker.connection.queueBind({ queue: watch, exchange: h.exchange, routingKey: 'payment.status_changed' });
    const watched = newEvent('payment.status_changed', 1, 'pay_live_2', { paymentId: 'pay_live_2' });
    await h.commitEvent(watched);
    expect(await relay.runOnce()).toBe(1);
    expect(await queueDepth(h.broker.connection, watch)).toBe(1);
  } finally {
    await relay.stop();
  }
});

test('several relays draining one outbox publish each row once', async () => {
  const tap = `${h.prefix}.tap-many`;
  await h.broker.connection.queueDeclare({ queue: tap, durable: true, arguments: { 'x-queue-type': 'quorum' } });
  await h.broker.connection.queueBind({ queue: tap, exchange: h.exchange, routingKey: 'payment.refunded' });
  const eventCount = 120;
  for (let i = 0; i < eventCount; i++) await h.commitEvent(newEvent('payment.refunded', 1, `pay_${i}`, { i }));

  const relays = [1, 2, 3].map(() => createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger, batchSize: 7 }));
  const published = await Promise.all(
    relays.map(async (relay) => {
      let total = 0;
      for (let round = 0; round < 50; round++) total += await relay.runOnce();
      return total;
    }),
  );
  await Promise.all(relays.map((relay) => relay.stop()));
  expect(published.reduce((a, b) => a + b, 0)).toBe(eventCount);
  expect(await relays[0]!.backlog()).toBe(0);
  await waitFor('all copies counted', async () => (await queueDepth(h.broker.connection, tap)) >= eventCount);
  expect(await queueDepth(h.broker.connection, tap)).toBe(eventCount);
});

test('a running relay delivers committed events promptly and stop() waits for its batch', async () => {
  const relay = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger });
  relay.start();
  const events = Array.from({ length: 40 }, () => paymentEvent());
  const startedMs = Date.now();
  for (const event of events) await h.commitEvent(event);
  await waitFor('all effects', async () => {
    for (const event of events) if ((await h.effectCount(event.messageId)) !== 1) return false;
    return true;
  });
  const elapsedMs = Date.now() - startedMs;
  await relay.stop();
  expect(await relay.backlog()).toBe(0);
  expect(elapsedMs).toBeLessThan(5000);
});

test('a woken relay claims at once; an idle poll finds nothing with one read and writes nothing', async () => {
  const relay = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger });
  // Drain whatever earlier tests left, then an idle poll and a woken run on an empty outbox.
  while ((await relay.runOnce()) > 0);
  expect(await relay.runOnce()).toBe(0);
  expect(await relay.runOnce({ knownPending: true })).toBe(0);
  const event = paymentEvent();
  await h.commitEvent(event);
  expect(await relay.runOnce({ knownPending: true })).toBe(1);
  expect((await unpublishedRow(event.messageId))?.published_at).toBeInstanceOf(Date);
  await relay.stop();
});

test('a sleeper reports whether wake() cut it short', async () => {
  const sleeper = new Sleeper();
  expect(await sleeper.sleep(20)).toBe(false);
  const woken = sleeper.sleep(5_000);
  sleeper.wake();
  expect(await woken).toBe(true);
  // A wake() before the sleep is kept for it.
  sleeper.wake();
  expect(await sleeper.sleep(5_000)).toBe(true);
});

test('a lingering relay publishes the commits of its linger window in one run', async () => {
  const runs: number[] = [];
  const relay = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger, lingerMs: 300, onPublished: (events) => runs.push(events.length) });
  while ((await relay.runOnce()) > 0);
  runs.length = 0;
  relay.start();
  // Let the loop reach its idle sleep, then five commits, each waking the relay.
  await new Promise((resolve) => setTimeout(resolve, 150));
  for (let index = 0; index < 5; index++) {
    await h.commitEvent(paymentEvent());
    relay.wake();
  }
  await waitFor('all five published', () => runs.reduce((sum, n) => sum + n, 0) === 5, 5_000);
  expect(runs).toEqual([5]);
  await relay.stop();
  expect(() => createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger, lingerMs: -1 })).toThrow('lingerMs');
});

test('a relay run claims, publishes and marks its batch with one statement in its transaction', async () => {
  const db = countingDatabase(h.db);
  const relay = createOutboxRelay({ db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger });
  while ((await relay.runOnce()) > 0);
  const events = [paymentEvent(), paymentEvent(), paymentEvent()];
  for (const event of events) await h.commitEvent(event);
  db.inTransactions = 0;
  expect(await relay.runOnce({ knownPending: true })).toBe(3);
  expect(db.inTransactions).toBe(1);
  for (const event of events) {
    expect((await unpublishedRow(event.messageId))?.published_at).toBeInstanceOf(Date);
    await waitFor('its effect', async () => (await h.effectCount(event.messageId)) === 1);
  }
  await relay.stop();
});

test('an idle relay polls less and less, still publishes what another process commits, and a wake-up is immediate', async () => {
  const db = countingDatabase(h.db);
  const published: string[] = [];
  const relay = createOutboxRelay({ db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger, pollIntervalMs: 10, idlePollIntervalMsMax: 160, onPublished: (events) => published.push(...events.map((event) => event.messageId)) });
  while ((await relay.runOnce()) > 0);
  relay.start();
  try {
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    // 10, 20, 40, 80, then 160 ms: about 12 idle reads in 1.5 s, where a fixed 10 ms would make ~150.
    expect(db.reads).toBeGreaterThanOrEqual(5);
    expect(db.reads).toBeLessThanOrEqual(20);

    // A row nobody wakes the relay for (written by another process) waits at most one idle sleep.
    const foreign = paymentEvent();
    await h.commitEvent(foreign);
    await waitFor('the foreign row published', () => published.includes(foreign.messageId), 2_000);
  } finally {
    await relay.stop();
  }

  // A commit in this process wakes the relay: published long before its (here 5 s) idle sleep ends.
  const sleepy = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger, pollIntervalMs: 5_000, onPublished: (events) => published.push(...events.map((event) => event.messageId)) });
  sleepy.start();
  try {
    await new Promise((resolve) => setTimeout(resolve, 200));
    const local = paymentEvent();
    await h.commitEvent(local);
    sleepy.wake();
    await waitFor('the woken row published', () => published.includes(local.messageId), 2_000);
  } finally {
    await sleepy.stop();
  }
  expect(() => createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger, idlePollIntervalMsMax: Number.NaN })).toThrow('idlePollIntervalMsMax');
});
