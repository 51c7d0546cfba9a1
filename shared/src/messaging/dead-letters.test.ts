import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { defineConsumer, startConsumers, type RunningConsumers } from './consumer.js';
import { listDeadLetters, queueDepth, replayDeadLetters, showDeadLetter } from './dead-letters.js';
import { newEvent } from './envelope.js';
import { NonRetryableError } from './failures.js';
import { createOutboxRelay } from './outbox.js';
import { startHarness, waitFor, type Harness } from './test-harness.js';
import { consumerQueueName, deadLetterQueueName } from './topology.js';

const REPO_ROOT = join(__dirname, '../../..');

let h: Harness;
let consumers: RunningConsumers;
let broken = true;
const handled: string[] = [];
let queue: string;
let dlq: string;

beforeAll(async () => {
  h = await startHarness();
  queue = consumerQueueName(h.prefix, 'wallet-projector');
  dlq = deadLetterQueueName(queue);
  consumers = await startConsumers({
    connection: h.broker.connection,
    db: h.db,
    prefix: h.prefix,
    logger: h.logger,
    retryTiersMs: [100],
    consumers: [
      defineConsumer({
        name: 'wallet-projector',
        routingKeys: ['payment.succeeded'],
        async handle(event, tx) {
          if (broken) throw new NonRetryableError('wallet not found');
          handled.push(event.messageId);
          await h.recordEffect(tx, 'wallet-projector', event.messageId);
        },
      }),
    ],
  });
});

afterAll(async () => {
  await consumers?.stop();
  await h?.close();
});

async function dlqCli(...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [join(REPO_ROOT, 'scripts/run-tool.mjs'), 'dlq', ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, BROKER_PREFIX: h.prefix, AMQP_URL: h.broker.amqpUrl, NODE_OPTIONS: '' },
    timeout: 30_000,
  });
  return stdout;
}

test('dead letters can be listed, shown and replayed (by id and all) once the handler is fixed', async () => {
  const events = [1, 2, 3].map((i) => newEvent('payment.succeeded', 1, `pay_dl_${i}`, { i }));
  for (const event of events) await h.commitEvent(event);
  const relay = createOutboxRelay({ db: h.db, connection: h.broker.connection, exchange: h.exchange, logger: h.logger });
  expect(await relay.runOnce()).toBe(3);
  await relay.stop();
  await waitFor('all three parked', async () => (await queueDepth(h.broker.connection, dlq)) === 3);

  const listed = await listDeadLetters({ connection: h.broker.connection, deadLetterQueue: dlq });
  expect(listed.map((l) => l.messageId).sort()).toEqual(events.map((e) => e.messageId).sort());
  expect(listed.every((l) => l.error?.includes('wallet not found') && l.attempts === 1 && l.queue === queue)).toBe(true);
  // Peeking twice lost nothing.
  expect(await listDeadLetters({ connection: h.broker.connection, deadLetterQueue: dlq })).toHaveLength(3);
  expect(await queueDepth(h.broker.connection, dlq)).toBe(3);

  const [first, second] = events as [(typeof events)[0], (typeof events)[0], (typeof events)[0]];
  const shown = await showDeadLetter({ connection: h.broker.connection, deadLetterQueues: [dlq], messageId: second.messageId });
  expect(shown).toMatchObject({ messageId: second.messageId, correlationId: 'pay_dl_2', routingKey: 'payment.succeeded', attempts: 1 });
  expect(shown?.body).toMatchObject({ payload: { i: 2 } });
  expect(await showDeadLetter({ connection: h.broker.connection, deadLetterQueues: [dlq], messageId: 'nope' })).toBeUndefined();
  expect(await queueDepth(h.broker.connection, dlq)).toBe(3);

  // The operator's CLI sees the same, without consuming anything.
  const listing = await dlqCli('list', '--queue', 'wallet-projector');
  expect(listing).toContain(`${dlq}: 3 messages`);
  for (const event of events) expect(listing).toContain(event.messageId);
  expect(listing).toContain('wallet not found');
  const detail = await dlqCli('show', first.messageId);
  expect(detail).toContain(`message     ${first.messageId}`);
  expect(detail).toContain('history');
  expect(await queueDepth(h.broker.connection, dlq)).toBe(3);

  broken = false;
  const replayed = await replayDeadLetters({ connection: h.broker.connection, deadLetterQueue: dlq, messageIds: [first.messageId] });
  expect(replayed.replayed).toEqual([{ messageId: first.messageId, queue }]);
  await waitFor('the replayed message handled', async () => (await h.effectCount(first.messageId)) === 1);
  expect(await queueDepth(h.broker.connection, dlq)).toBe(2);

  const output = await dlqCli('replay', '--all', '--queue', dlq);
  expect(output).toContain('2 messages replayed');
  await waitFor('all handled', async () => (await h.effectCount()) === 3);
  expect(await queueDepth(h.broker.connection, dlq)).toBe(0);
  expect(handled.sort()).toEqual(events.map((e) => e.messageId).sort());
}, 60_000);
