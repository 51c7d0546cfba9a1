import { defineConsumer, startConsumers } from './consumer.js';
import { newEvent } from './envelope.js';
import { createOutboxRelay } from './outbox.js';
import { startHarness, sleep, waitFor, type Harness } from './test-harness.js';

// The outage is simulated with `rabbitmqctl close_connection` on this test's own connections
// only (found by their connection name, which carries the test broker's unique prefix), not
// `close_all_connections`, so parallel test files and a running dev instance are undisturbed.

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h?.close();
});

test('closing the broker connections mid-flight loses nothing and duplicates no effect', async () => {
  const relayConnection = await h.broker.connect('relay');
  const consumerConnection = await h.broker.connect('consumers');
  const consumers = await startConsumers({
    connection: consumerConnection,
    db: h.db,
    prefix: h.prefix,
    logger: h.logger,
    prefetch: 20,
    consumers: [
      defineConsumer({
        name: 'ledger-poster',
        routingKeys: ['payment.succeeded'],
        async handle(event, tx) {
          await h.recordEffect(tx, 'ledger-poster', event.messageId);
        },
      }),
    ],
  });
  const relay = createOutboxRelay({ db: h.db, connection: relayConnection, exchange: h.exchange, logger: h.logger, pollIntervalMs: 20, failureBackoffMsMax: 1000 });
  relay.start();
  try {
    const eventCount = 300;
    const closedCounts: number[] = [];
    for (let i = 0; i < eventCount; i++) {
      await h.commitEvent(newEvent('payment.succeeded', 1, `pay_${i}`, { i }));
      relay.wake();
      if (i === 100 || i === 200) {
        // The second outage waits until the client has reconnected from the first one.
        await waitFor('both connections back', () => relayConnection.ready && consumerConnection.ready, 20_000);
        closedCounts.push(await h.broker.closeConnections(['relay', 'consumers']));
      }
      if (i % 10 === 0) await sleep(5);
    }
    expect(closedCounts).toEqual([2, 2]);

    await waitFor('every committed event to take effect', async () => (await h.effectCount()) >= eventCount, 45_000, 100);
    // Let any straggling duplicate arrive before counting.
    await sleep(500);
    const rows = await h.db.$queryRawUnsafe<{ total: number; distinct_ids: number }[]>(
      `SELECT count(*)::int AS total, count(DISTINCT message_id)::int AS distinct_ids FROM msg_effects`,
    );
    expect(rows[0]).toEqual({ total: eventCount, distinct_ids: eventCount });
    expect(await relay.backlog()).toBe(0);
  } finally {
    await relay.stop();
    await consumers.stop();
  }
}, 90_000);
