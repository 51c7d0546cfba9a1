import { z } from 'zod';
import { currentCorrelationId } from '../logging/index.js';
import { defineConsumer, startConsumers, type RunningConsumers } from './consumer.js';
import { listDeadLetters, queueDepth } from './dead-letters.js';
import { newEvent, type DomainEvent } from './envelope.js';
import { NonRetryableError, RetryableError } from './failures.js';
import { createOutboxRelay, type OutboxRelay } from './outbox.js';
import { eventMessage, startHarness, sleep, waitFor, type Harness } from './test-harness.js';
import { DEFAULT_RETRY_TIERS_MS, DELIVERY_LIMIT, consumerQueueName, deadLetterQueueName } from './topology.js';
import type { SqlClient } from './sql.js';

const TIERS_MS = [200, 400, 800];
/** Timer and broker scheduling slack allowed on each measured delay. */
const EARLY_TOLERANCE_MS = 30;
const LATE_TOLERANCE_MS = 450;

let h: Harness;
let relay: OutboxRelay;
const running: RunningConsumers[] = [];

beforeAll(async () => {
  h = await startHarness();
  relay = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger, pollIntervalMs: 20 });
});

afterAll(async () => {
  await relay?.stop();
  for (const consumers of running) await consumers.stop();
  await h?.close();
});

async function start(options: Omit<Parameters<typeof startConsumers>[0], 'connection' | 'db' | 'prefix' | 'logger'> & { connection?: Parameters<typeof startConsumers>[0]['connection'] }) {
  const consumers = await startConsumers({ connection: h.broker.connection, db: h.db, prefix: h.prefix, logger: h.logger, retryTiersMs: TIERS_MS, ...options });
  running.push(consumers);
  return consumers;
}

async function publish(event: DomainEvent<unknown>): Promise<void> {
  await h.commitEvent(event);
  await waitFor('outbox drained', async () => {
    await relay.runOnce();
    return (await relay.backlog()) === 0;
  });
}

test('the default retry tiers are 1, 2, 4, 8 and 16 seconds', () => {
  expect(DEFAULT_RETRY_TIERS_MS).toEqual([1000, 2000, 4000, 8000, 16000]);
});

test('a retryable failure is retried after each tier delay, then parked with its history', async () => {
  const arrivalsMs: number[] = [];
  const attempts: number[] = [];
  const correlationIds: (string | undefined)[] = [];
  await start({
    consumers: [
      defineConsumer({
        name: 'flaky',
        routingKeys: ['payment.failed'],
        async handle(_event, _tx, ctx) {
          arrivalsMs.push(Date.now());
          attempts.push(ctx.attempt);
          correlationIds.push(currentCorrelationId());
          throw new RetryableError(`PSP answered 503 (attempt ${ctx.attempt})`);
        },
      }),
    ],
  });
  const event = newEvent('payment.failed', 1, 'pay_flaky', { paymentId: 'pay_flaky' });
  await publish(event);

  const dlq = deadLetterQueueName(consumerQueueName(h.prefix, 'flaky'));
  await waitFor('the message to be parked', async () => (await queueDepth(h.broker.connection, dlq)) === 1, 10_000);

  expect(attempts).toEqual([1, 2, 3, 4]);
  expect(correlationIds).toEqual(['pay_flaky', 'pay_flaky', 'pay_flaky', 'pay_flaky']);
  const delaysMs = arrivalsMs.slice(1).map((t, i) => t - arrivalsMs[i]!);
  delaysMs.forEach((delayMs, i) => {
    expect(delayMs).toBeGreaterThanOrEqual(TIERS_MS[i]! - EARLY_TOLERANCE_MS);
    expect(delayMs).toBeLessThan(TIERS_MS[i]! + LATE_TOLERANCE_MS);
  });

  const [letter] = await listDeadLetters({ connection: h.broker.connection, deadLetterQueue: dlq });
  expect(letter?.messageId).toBe(event.messageId);
  expect(letter?.attempts).toBe(4);
  expect(letter?.routingKey).toBe('payment.failed');
  expect(letter?.error).toContain('PSP answered 503 (attempt 4)');
  expect(letter?.history.map((entry) => entry.attempt)).toEqual([1, 2, 3, 4]);
  expect(letter?.history[0]?.error).toContain('RetryableError: PSP answered 503 (attempt 1)');
  expect(letter?.failedAt).toMatch(/^\d{4}-\d\d-\d\dT/);
  expect(letter?.headers['x-death']).toBeUndefined();
  // Nothing left behind in the work queue or the tiers, and the peek lost nothing.
  expect(await queueDepth(h.broker.connection, consumerQueueName(h.prefix, 'flaky'))).toBe(0);
  expect(await queueDepth(h.broker.connection, dlq)).toBe(1);
});

test('a non-retryable failure and an invalid payload are parked at once', async () => {
  let businessCalls = 0;
  let validatedCalls = 0;
  await start({
    consumers: [
      defineConsumer({
        name: 'strict',
        routingKeys: ['payout.paid'],
        async handle() {
          businessCalls++;
          throw new NonRetryableError('payout already settled');
        },
      }),
      defineConsumer({
        name: 'validated',
        routingKeys: ['order.delivered'],
        schema: z.object({ orderId: z.string() }),
        async handle() {
          validatedCalls++;
        },
      }),
    ],
  });
  await publish(newEvent('payout.paid', 1, 'po_1', { payoutId: 'po_1' }));
  await publish(newEvent('order.delivered', 1, 'ord_1', { orderId: 42 }));

  const strictDlq = deadLetterQueueName(consumerQueueName(h.prefix, 'strict'));
  const validatedDlq = deadLetterQueueName(consumerQueueName(h.prefix, 'validated'));
  await waitFor('both parked', async () => (await queueDepth(h.broker.connection, strictDlq)) === 1 && (await queueDepth(h.broker.connection, validatedDlq)) === 1, 10_000);
  await sleep(TIERS_MS[0]! + 300);
  expect(businessCalls).toBe(1);
  expect(validatedCalls).toBe(0);
  const [strictLetter] = await listDeadLetters({ connection: h.broker.connection, deadLetterQueue: strictDlq });
  expect(strictLetter?.attempts).toBe(1);
  expect(strictLetter?.error).toContain('payout already settled');
  const [validatedLetter] = await listDeadLetters({ connection: h.broker.connection, deadLetterQueue: validatedDlq });
  expect(validatedLetter?.attempts).toBe(1);
  expect(validatedLetter?.error).toContain('ZodError');
});

test('a poison message (bad JSON) is parked at once and never loops', async () => {
  let calls = 0;
  await start({
    consumers: [
      defineConsumer({
        name: 'poisoned',
        routingKeys: ['payment.refunded'],
        async handle() {
          calls++;
        },
      }),
    ],
  });
  await h.publishRaw(h.broker.connection, 'payment.refunded', Buffer.from('{"messageId": "oops", broken'), { contentType: 'application/json', messageId: 'poison-1' });

  const queue = consumerQueueName(h.prefix, 'poisoned');
  const dlq = deadLetterQueueName(queue);
  await waitFor('poison parked', async () => (await queueDepth(h.broker.connection, dlq)) === 1, 10_000);
  await sleep(TIERS_MS[0]! + 300);
  expect(calls).toBe(0);
  expect(await queueDepth(h.broker.connection, queue)).toBe(0);
  expect(await queueDepth(h.broker.connection, dlq)).toBe(1);
  const [letter] = await listDeadLetters({ connection: h.broker.connection, deadLetterQueue: dlq });
  expect(letter?.messageId).toBe('poison-1');
  expect(letter?.attempts).toBe(1);
  expect(letter?.error).toContain('not JSON');
  expect(letter?.body).toBe('{"messageId": "oops", broken');
});

test('a consumer killed after its commit and before its ack has no second effect on redelivery', async () => {
  const doomedConnection = await h.broker.connect('doomed');
  const handled: string[] = [];
  const commits: string[] = [];
  let killed = false;
  await start({
    connection: doomedConnection,
    consumers: [
      defineConsumer({
        name: 'once',
        routingKeys: ['payment.succeeded'],
        async handle(event, tx) {
          handled.push(event.messageId);
          await h.recordEffect(tx, 'once', event.messageId);
        },
      }),
    ],
    afterCommitForTest: async (event) => {
      commits.push(event.messageId);
      if (killed) return;
      killed = true;
      // The broker drops the connection: the ack that follows goes nowhere.
      expect(await h.broker.closeConnections(['doomed'])).toBe(1);
    },
  });
  const event = newEvent('payment.succeeded', 1, 'pay_once', { paymentId: 'pay_once' });
  await publish(event);

  // rabbitmq-client reconnects; the broker redelivers the unacked message.
  await waitFor('the redelivery', () => commits.length === 2, 15_000);
  expect(handled).toEqual([event.messageId]);
  expect(await h.effectCount(event.messageId)).toBe(1);
  await waitFor('the ack of the redelivery', async () => (await queueDepth(h.broker.connection, consumerQueueName(h.prefix, 'once'))) === 0);
});

test('a message the consumer keeps failing to settle is parked by the broker after the delivery limit', async () => {
  let deliveries = 0;
  await start({
    consumers: [defineConsumer({ name: 'crashy', routingKeys: ['payout.failed'], async handle() {} })],
    // Stands in for a process that dies on this message every time: the kit never settles it.
    afterCommitForTest: () => {
      deliveries++;
      throw new Error('consumer crashed');
    },
  });
  await publish(newEvent('payout.failed', 1, 'po_crash', { payoutId: 'po_crash' }));
  const dlq = deadLetterQueueName(consumerQueueName(h.prefix, 'crashy'));
  await waitFor('the broker to park it', async () => (await queueDepth(h.broker.connection, dlq)) === 1, 20_000);
  expect(deliveries).toBeGreaterThanOrEqual(DELIVERY_LIMIT);
  const [letter] = await listDeadLetters({ connection: h.broker.connection, deadLetterQueue: dlq });
  expect(letter?.error).toContain('parked by the broker: delivery_limit');
});

describe('batchable consumers (group commit)', () => {
  async function publishAll(events: readonly DomainEvent<unknown>[]): Promise<void> {
    for (const event of events) await h.commitEvent(event);
    await waitFor('outbox drained', async () => {
      await relay.runOnce();
      return (await relay.backlog()) === 0;
    });
  }

  async function txid(tx: SqlClient): Promise<string> {
    const rows = await tx.$queryRawUnsafe<{ id: string }[]>('SELECT txid_current()::text AS id');
    return rows[0]!.id;
  }

  test('deliveries that arrive together commit in one transaction, each exactly once', async () => {
    const transactions: string[] = [];
    let commits = 0;
    let first = true;
    await start({
      prefetch: 50,
      onCommitted: () => commits++,
      consumers: [
        defineConsumer({
          name: 'grouped',
          routingKeys: ['wallet.grouped'],
          batchable: true,
          async handle(event, tx) {
            // The first delivery holds its transaction open while the rest arrive and queue.
            if (first) {
              first = false;
              await sleep(500);
            }
            transactions.push(await txid(tx));
            await h.recordEffect(tx, 'grouped', event.messageId);
          },
        }),
      ],
    });
    const events = Array.from({ length: 30 }, (_, index) => newEvent('wallet.grouped', 1, `grp_${index}`, { index }));
    await publishAll(events);
    await waitFor('all handled', () => transactions.length === 30, 15_000);
    const distinct = new Set(transactions).size;
    expect(distinct).toBeLessThanOrEqual(3);
    // A handler has run before its transaction commits: read the effects once every commit is reported.
    await waitFor('the commits reported', () => commits === distinct);
    for (const event of events) expect(await h.effectCount(event.messageId)).toBe(1);
    await waitFor('all acked', async () => (await queueDepth(h.broker.connection, consumerQueueName(h.prefix, 'grouped'))) === 0);
  });

  test('a failing message rolls its batch back; the others commit alone and it alone is parked', async () => {
    const calls = new Map<string, number>();
    let first = true;
    await start({
      prefetch: 50,
      consumers: [
        defineConsumer({
          name: 'grouped-failing',
          routingKeys: ['wallet.grouped_failing'],
          schema: z.object({ index: z.number() }),
          batchable: true,
          async handle(event, tx) {
            calls.set(event.messageId, (calls.get(event.messageId) ?? 0) + 1);
            if (first) {
              first = false;
              await sleep(500);
            }
            await h.recordEffect(tx, 'grouped-failing', event.messageId);
            if (event.payload.index === 7) throw new NonRetryableError('order 7 cannot be posted');
          },
        }),
      ],
    });
    const events = Array.from({ length: 12 }, (_, index) => newEvent('wallet.grouped_failing', 1, `grpf_${index}`, { index }));
    await publishAll(events);
    const dlq = deadLetterQueueName(consumerQueueName(h.prefix, 'grouped-failing'));
    await waitFor('the bad one parked', async () => (await queueDepth(h.broker.connection, dlq)) === 1, 15_000);
    await waitFor('the rest handled', async () => (await Promise.all(events.map((event) => h.effectCount(event.messageId)))).filter((n) => n === 1).length === 11, 15_000);
    const [letter] = await listDeadLetters({ connection: h.broker.connection, deadLetterQueue: dlq });
    expect(letter?.messageId).toBe(events[7]!.messageId);
    expect(letter?.error).toContain('order 7 cannot be posted');
    // Its effect rolled back with it; it ran in the batch and once more alone.
    expect(await h.effectCount(events[7]!.messageId)).toBe(0);
    expect(calls.get(events[7]!.messageId)).toBe(2);
    for (const [index, event] of events.entries()) if (index !== 7) expect(await h.effectCount(event.messageId)).toBe(1);
  });

  test('with batchConcurrency 2 a second batch runs while the first one is still open', async () => {
    const open = new Set<string>();
    let overlapped = false;
    await start({
      prefetch: 50,
      consumers: [
        defineConsumer({
          name: 'grouped-pair',
          routingKeys: ['wallet.grouped_pair'],
          batchable: true,
          batchConcurrency: 2,
          async handle(event, tx) {
            const id = await txid(tx);
            open.add(id);
            if (open.size > 1) overlapped = true;
            await sleep(300);
            await h.recordEffect(tx, 'grouped-pair', event.messageId);
            open.delete(id);
          },
        }),
      ],
    });
    const events = Array.from({ length: 6 }, (_, index) => newEvent('wallet.grouped_pair', 1, `pair_${index}`, { index }));
    await publishAll(events.slice(0, 1));
    await publishAll(events.slice(1));
    await waitFor('all handled', async () => (await Promise.all(events.map((event) => h.effectCount(event.messageId)))).every((n) => n === 1), 15_000);
    expect(overlapped).toBe(true);
  });

  test('a bad batchConcurrency or batchLingerMs is refused when the consumers start, before any message', async () => {
    const startWith = (options: { batchLingerMs?: number }, batchConcurrency?: number) =>
      startConsumers({
        connection: h.broker.connection,
        db: h.db,
        prefix: h.prefix,
        logger: h.logger,
        ...options,
        consumers: [defineConsumer({ name: 'grouped-bad', routingKeys: ['wallet.grouped_bad'], batchable: true, batchConcurrency, async handle() {} })],
      });
    await expect(startWith({}, 0)).rejects.toThrow('batchConcurrency of grouped-bad must be 1..16');
    await expect(startWith({ batchLingerMs: -1 })).rejects.toThrow('batchLingerMs must be 0..10000');
    await expect(startWith({ batchLingerMs: 10_001 })).rejects.toThrow('batchLingerMs must be 0..10000');
  });

  /** A batchable consumer of `wallet.<name with _>` that records each delivery's transaction id and effect. */
  function recordingTransactions(name: string, transactions: string[]) {
    return defineConsumer({
      name,
      routingKeys: [`wallet.${name.replace(/-/g, '_')}`],
      batchable: true,
      async handle(event, tx) {
        transactions.push(await txid(tx));
        await h.recordEffect(tx, name, event.messageId);
      },
    });
  }

  test('with a batch linger, deliveries that arrive one by one share one transaction', async () => {
    const transactions: string[] = [];
    let commits = 0;
    await start({
      prefetch: 50,
      batchLingerMs: 1_000,
      onCommitted: () => commits++,
      consumers: [recordingTransactions('grouped-linger', transactions)],
    });
    const events = Array.from({ length: 5 }, (_, index) => newEvent('wallet.grouped_linger', 1, `linger_${index}`, { index }));
    // Each one alone, while the consumer is idle: without a linger, five transactions of one.
    for (const event of events) {
      await publishAll([event]);
      await sleep(50);
    }
    // A handler runs before its transaction commits: read the effects once the commit is reported.
    await waitFor('all handled and committed', () => transactions.length === 5 && commits > 0, 15_000);
    expect(new Set(transactions).size).toBe(1);
    expect(commits).toBe(1);
    for (const event of events) expect(await h.effectCount(event.messageId)).toBe(1);
  });

  test('a batch that reaches batchSizeMax starts at once, without waiting out the linger', async () => {
    const transactions: string[] = [];
    await start({
      prefetch: 10,
      batchSizeMax: 3,
      batchLingerMs: 10_000,
      consumers: [recordingTransactions('grouped-full', transactions)],
    });
    const events = Array.from({ length: 3 }, (_, index) => newEvent('wallet.grouped_full', 1, `full_${index}`, { index }));
    for (const event of events) await h.commitEvent(event);
    const published = Date.now();
    await relay.runOnce();
    // Each delivery was queued after `published`, so its linger runs out 10 s after it at the earliest.
    await waitFor('all handled', () => transactions.length === 3, 15_000);
    expect(Date.now() - published).toBeLessThan(5_000);
    expect(new Set(transactions).size).toBe(1);
  });

  test('the same message delivered twice into one batch has one effect', async () => {
    let handled = 0;
    let first = true;
    await start({
      prefetch: 50,
      consumers: [
        defineConsumer({
          name: 'grouped-dup',
          routingKeys: ['wallet.grouped_dup'],
          batchable: true,
          async handle(event, tx) {
            handled++;
            if (first) {
              first = false;
              await sleep(500);
            }
            await h.recordEffect(tx, 'grouped-dup', event.messageId);
          },
        }),
      ],
    });
    const opener = newEvent('wallet.grouped_dup', 1, 'dup_opener', {});
    const twice = newEvent('wallet.grouped_dup', 1, 'dup_twice', {});
    const { properties, body } = eventMessage(twice);
    await publishAll([opener]);
    await h.publishRaw(h.broker.connection, 'wallet.grouped_dup', body, properties);
    await h.publishRaw(h.broker.connection, 'wallet.grouped_dup', body, properties);
    await waitFor('all acked', async () => handled >= 2 && (await queueDepth(h.broker.connection, consumerQueueName(h.prefix, 'grouped-dup'))) === 0, 15_000);
    expect(await h.effectCount(twice.messageId)).toBe(1);
    expect(await h.effectCount(opener.messageId)).toBe(1);
    expect(handled).toBe(2);
  });
});

describe('a handler whose effect starts outside the database (handleOutsideTransaction)', () => {
  /**
   * Connections of this database holding a transaction open for over 300 ms after writing an
   * inbox row: a handler's slow external call (each probe below waits 400 ms first; any other
   * consumer's transaction lasts milliseconds).
   */
  async function openInboxTransactions(): Promise<number> {
    await sleep(400);
    const rows = await h.db.$queryRawUnsafe<{ n: number }[]>(
      `SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND state = 'idle in transaction' AND query LIKE 'INSERT INTO inbox_messages%'
          AND now() - xact_start > interval '300 milliseconds'`,
    );
    return Number(rows[0]?.n ?? 0);
  }

  test('runs its external call with no transaction open, then writes its effect and the inbox row in one transaction', async () => {
    const openDuringCall: Record<string, number> = {};
    await start({
      consumers: [
        // The usual kind, as the probe's control: its handler runs inside the inbox transaction.
        defineConsumer({
          name: 'inside-probe',
          routingKeys: ['payout.inside_probe'],
          async handle(event, tx) {
            openDuringCall.inside = await openInboxTransactions();
            await h.recordEffect(tx, 'inside-probe', event.messageId);
          },
        }),
        defineConsumer({
          name: 'outside-probe',
          routingKeys: ['payout.outside_probe'],
          async handleOutsideTransaction(event, record) {
            openDuringCall.outside = await openInboxTransactions();
            const inboxBefore = await h.db.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM inbox_messages WHERE message_id = $1`, event.messageId);
            openDuringCall.inboxRowsBefore = inboxBefore.length;
            await record((tx) => h.recordEffect(tx, 'outside-probe', event.messageId));
          },
        }),
      ],
    });
    const inside = newEvent('payout.inside_probe', 1, 'po_inside', {});
    const outside = newEvent('payout.outside_probe', 1, 'po_outside', {});
    await publish(inside);
    await waitFor('the control handled', async () => (await h.effectCount(inside.messageId)) === 1);
    await publish(outside);
    await waitFor('handled', async () => (await h.effectCount(outside.messageId)) === 1);
    expect(openDuringCall).toEqual({ inside: 1, outside: 0, inboxRowsBefore: 0 });
    const inbox = await h.db.$queryRawUnsafe<{ consumer: string }[]>(`SELECT consumer FROM inbox_messages WHERE message_id = $1`, outside.messageId);
    expect(inbox).toEqual([{ consumer: 'outside-probe' }]);
  });

  test('a message already in the inbox is skipped before the handler runs', async () => {
    let calls = 0;
    await start({
      consumers: [
        defineConsumer({
          name: 'outside-once',
          routingKeys: ['payout.outside_once'],
          async handleOutsideTransaction(event, record) {
            calls++;
            await record((tx) => h.recordEffect(tx, 'outside-once', event.messageId));
          },
        }),
      ],
    });
    const event = newEvent('payout.outside_once', 1, 'po_once', {});
    const { properties, body } = eventMessage(event);
    await h.publishRaw(h.broker.connection, 'payout.outside_once', body, properties);
    await waitFor('first delivery handled', async () => (await h.effectCount(event.messageId)) === 1);
    await h.publishRaw(h.broker.connection, 'payout.outside_once', body, properties);
    await waitFor('redelivery acked', async () => (await queueDepth(h.broker.connection, consumerQueueName(h.prefix, 'outside-once'))) === 0);
    await sleep(200);
    expect(calls).toBe(1);
    expect(await h.effectCount(event.messageId)).toBe(1);
  });

  test('two deliveries in flight at once both make the (idempotent) call; only the first record writes', async () => {
    let calls = 0;
    const outcomes: string[] = [];
    await start({
      prefetch: 5,
      consumers: [
        defineConsumer({
          name: 'outside-race',
          routingKeys: ['payout.outside_race'],
          async handleOutsideTransaction(event, record) {
            calls++;
            await sleep(300);
            try {
              await record((tx) => h.recordEffect(tx, 'outside-race', event.messageId));
              outcomes.push('recorded');
            } catch (error) {
              outcomes.push((error as Error).name);
              throw error;
            }
          },
        }),
      ],
    });
    const event = newEvent('payout.outside_race', 1, 'po_race', {});
    const { properties, body } = eventMessage(event);
    await Promise.all([
      h.publishRaw(h.broker.connection, 'payout.outside_race', body, properties),
      h.publishRaw(h.broker.connection, 'payout.outside_race', body, properties),
    ]);
    await waitFor('both deliveries done', () => outcomes.length === 2, 5_000);
    await waitFor('both acked', async () => (await queueDepth(h.broker.connection, consumerQueueName(h.prefix, 'outside-race'))) === 0);
    expect(calls).toBe(2);
    expect(outcomes.sort()).toEqual(['DuplicateDelivery', 'recorded']);
    expect(await h.effectCount(event.messageId)).toBe(1);
    // The duplicate is neither retried nor parked.
    await sleep(TIERS_MS[0]! + 300);
    expect(calls).toBe(2);
    expect(await queueDepth(h.broker.connection, deadLetterQueueName(consumerQueueName(h.prefix, 'outside-race')))).toBe(0);
  });

  test('a handler that has nothing to write still records the delivery; a failure before record writes nothing and is retried', async () => {
    let skipCalls = 0;
    const attempts: number[] = [];
    await start({
      consumers: [
        defineConsumer({
          name: 'outside-skip',
          routingKeys: ['payout.outside_skip'],
          async handleOutsideTransaction() {
            skipCalls++;
          },
        }),
        defineConsumer({
          name: 'outside-retry',
          routingKeys: ['payout.outside_retry'],
          async handleOutsideTransaction(event, record, ctx) {
            attempts.push(ctx.attempt);
            if (ctx.attempt === 1) throw new RetryableError('the PSP timed out');
            await record((tx) => h.recordEffect(tx, 'outside-retry', event.messageId));
          },
        }),
      ],
    });
    const skip = newEvent('payout.outside_skip', 1, 'po_skip', {});
    const { properties, body } = eventMessage(skip);
    await h.publishRaw(h.broker.connection, 'payout.outside_skip', body, properties);
    await waitFor('skip recorded', async () => (await h.db.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM inbox_messages WHERE message_id = $1`, skip.messageId)).length === 1);
    await h.publishRaw(h.broker.connection, 'payout.outside_skip', body, properties);
    await waitFor('redelivery acked', async () => (await queueDepth(h.broker.connection, consumerQueueName(h.prefix, 'outside-skip'))) === 0);
    await sleep(200);
    expect(skipCalls).toBe(1);
    expect(await h.effectCount(skip.messageId)).toBe(0);

    const retried = newEvent('payout.outside_retry', 1, 'po_retry', {});
    await publish(retried);
    await waitFor('recorded on the second attempt', async () => (await h.effectCount(retried.messageId)) === 1, 5_000);
    expect(attempts).toEqual([1, 2]);
  });

  test('a definition with both handlers, or a batched one outside the transaction, is refused at definition time', () => {
    const base = { name: 'bad-outside', routingKeys: ['payout.bad'] };
    const noop = async () => {};
    expect(() => defineConsumer({ ...base, handle: noop, handleOutsideTransaction: noop } as never)).toThrow('exactly one of handle and handleOutsideTransaction');
    expect(() => defineConsumer({ ...base } as never)).toThrow('exactly one of handle and handleOutsideTransaction');
    expect(() => defineConsumer({ ...base, batchable: true, handleOutsideTransaction: noop } as never)).toThrow('cannot be batched');
  });
});
