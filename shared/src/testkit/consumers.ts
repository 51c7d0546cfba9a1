// Test plumbing for consumer integration tests (real PostgreSQL and RabbitMQ): a migrated database
// of one subgraph, a throw-away broker namespace, the consumers running against both, and a
// confirmed publisher that can deliver the same event (same message id) more than once.
import {
  ConfirmPublisher,
  declareTopology,
  encodeEnvelope,
  eventProperties,
  newEvent,
  serializeEventPayload,
  silentLogger,
  startConsumers,
  type ConsumerDefinition,
  type DomainEvent,
  type EventKey,
  type EventPayload,
  type RunningConsumers,
} from '../index.js';
import { createPgDatabase } from '../db/pg-database.js';
import { createTestBroker, type TestBroker } from './broker.js';
import { createTestDatabase, type TestDatabase } from './database.js';

export interface ConsumerHarness<TClient> {
  readonly prisma: TClient;
  readonly broker: TestBroker;
  publish(event: DomainEvent<unknown>): Promise<void>;
  close(): Promise<void>;
}

export async function startConsumerHarness<TClient extends { $disconnect(): Promise<void> }>(options: {
  readonly subgraph: string;
  /** The subgraph's own PrismaClient for a database URL. */
  readonly createClient: (databaseUrl: string) => TClient;
  readonly consumers: ConsumerDefinition<unknown>[];
}): Promise<ConsumerHarness<TClient>> {
  const database: TestDatabase = await createTestDatabase(options.subgraph);
  const prisma = options.createClient(database.url);
  // The consumers run on node-postgres, as in the services; the PrismaClient is for assertions.
  const db = createPgDatabase(database.url, { poolMax: 10 });
  const broker = await createTestBroker();
  const { exchange } = await declareTopology(broker.connection, broker.prefix);
  const running: RunningConsumers = await startConsumers({
    connection: broker.connection,
    db,
    prefix: broker.prefix,
    logger: silentLogger,
    consumers: options.consumers,
    retryTiersMs: [200, 400],
    prefetch: 50,
  });
  const publisher = new ConfirmPublisher(broker.connection);
  return {
    prisma,
    broker,
    async publish(event) {
      await publisher.publish({ exchange, routingKey: event.type, ...eventProperties(event) }, encodeEnvelope(event));
    },
    async close() {
      await running.stop();
      await db.end();
      await publisher.close();
      await broker.cleanup();
      await prisma.$disconnect();
      await database.drop();
    },
  };
}

export function eventOf<K extends EventKey>(key: K, correlationId: string, payload: EventPayload<K>): DomainEvent<unknown> {
  const [type, version] = key.split('@') as [string, string];
  return newEvent(type, Number(version), correlationId, serializeEventPayload(key, payload));
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, what: string, timeoutMs = 15_000): Promise<T> {
  const deadlineMs = Date.now() + timeoutMs;
  while (Date.now() < deadlineMs) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}
