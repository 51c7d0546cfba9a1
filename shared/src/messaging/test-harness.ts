// Shared set-up for this folder's integration tests (real PostgreSQL and RabbitMQ): a fresh,
// migrated wallet database, a test broker namespace, and an `msg_effects` table the test
// handlers write to, so "exactly once" is a row count. Not part of the kit's public surface.
import type { Connection } from 'rabbitmq-client';
import { createPgDatabase } from '../db/pg-database.js';
import { createTestBroker, type TestBroker } from '../testkit/broker.js';
import { createTestDatabase, type TestDatabase } from '../testkit/database.js';
import type { DomainEvent } from './envelope.js';
import { encodeEnvelope, eventProperties } from './envelope.js';
import { silentLogger } from './logger.js';
import type { MessagingLogger } from './logger.js';
import { writeOutbox } from './outbox.js';
import { ConfirmPublisher } from './publisher.js';
import type { SqlClient, TransactionalDb } from './sql.js';
import { declareTopology, eventsExchangeName } from './topology.js';

export type TestDb = TransactionalDb & { $disconnect(): Promise<void> };

export interface Harness {
  db: TestDb;
  database: TestDatabase;
  broker: TestBroker;
  prefix: string;
  exchange: string;
  logger: MessagingLogger;
  /** Commits a state-change row and the event's outbox row in one transaction. */
  commitEvent(event: DomainEvent<unknown>): Promise<void>;
  /** Rows the test handlers wrote for `messageId` (or all). */
  effectCount(messageId?: string): Promise<number>;
  recordEffect(tx: SqlClient, consumer: string, messageId: string): Promise<void>;
  /** Publishes straight to the exchange (bypassing the outbox), confirmed. */
  publishRaw(connection: Connection, routingKey: string, body: Buffer, properties?: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const database = await createTestDatabase('wallet');
  // The services run the kit on node-postgres (db/pg-database.ts); so do its tests.
  const pgDb = createPgDatabase(database.url, { poolMax: 20 });
  const db: TestDb = { $queryRawUnsafe: pgDb.$queryRawUnsafe, $executeRawUnsafe: pgDb.$executeRawUnsafe, $transaction: pgDb.$transaction, $disconnect: () => pgDb.end() };
  const broker = await createTestBroker();
  const prefix = broker.prefix;
  const { exchange } = await declareTopology(broker.connection, prefix);
  await db.$executeRawUnsafe(
    `CREATE TABLE msg_effects (id bigserial PRIMARY KEY, consumer text NOT NULL, message_id text NOT NULL, created_at timestamptz NOT NULL DEFAULT clock_timestamp())`,
  );
  await db.$executeRawUnsafe(`CREATE TABLE msg_state (id text PRIMARY KEY)`);
  const publishers: ConfirmPublisher[] = [];
  const logger = process.env.MESSAGING_TEST_LOGS ? consoleLogger() : silentLogger;

  return {
    db,
    database,
    broker,
    prefix,
    exchange,
    logger,
    async commitEvent(event) {
      await db.$transaction(async (tx) => {
        await tx.$executeRawUnsafe(`INSERT INTO msg_state (id) VALUES ($1)`, event.messageId);
        await writeOutbox(tx, event);
      });
    },
    async effectCount(messageId) {
      const rows = messageId
        ? await db.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM msg_effects WHERE message_id = $1`, messageId)
        : await db.$queryRawUnsafe<{ n: number }[]>(`SELECT count(*)::int AS n FROM msg_effects`);
      return Number(rows[0]?.n ?? 0);
    },
    async recordEffect(tx, consumer, messageId) {
      await tx.$executeRawUnsafe(`INSERT INTO msg_effects (consumer, message_id) VALUES ($1, $2)`, consumer, messageId);
    },
    async publishRaw(connection, routingKey, body, properties = {}) {
      const publisher = new ConfirmPublisher(connection);
      publishers.push(publisher);
      await publisher.publish({ exchange: eventsExchangeName(prefix), routingKey, messageId: `raw-${Date.now()}-${Math.random()}`, ...properties }, body);
    },
    async close() {
      for (const publisher of publishers) await publisher.close();
      await broker.cleanup();
      await db.$disconnect();
      await database.drop();
    },
  };
}

export function eventMessage(event: DomainEvent<unknown>) {
  return { properties: eventProperties(event), body: encodeEnvelope(event) };
}

/** Polls `probe` until it returns true; bounded by `timeoutMs`. */
export async function waitFor(what: string, probe: () => Promise<boolean> | boolean, timeoutMs = 15_000, intervalMs = 25): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

export function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}

function consoleLogger(): MessagingLogger {
  const log = (level: string) => (obj: object, msg?: string) => console.log(level, msg, JSON.stringify(obj, (_k, v: unknown) => (v instanceof Error ? v.message : v)));
  return { debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error') };
}
