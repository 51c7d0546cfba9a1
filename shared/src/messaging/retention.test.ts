// Retention of published outbox rows and inbox rows, on a real service database (the wallet's
// schema has both tables): what is old enough goes, what is not stays, and an unpublished outbox
// row stays however old it is.
import { randomUUID } from 'node:crypto';
import { createPgDatabase, type PgDatabase } from '../db/pg-database.js';
import { createTestDatabase, type TestDatabase } from '../testkit/database.js';
import { deleteExpiredMessages, INBOX_RETENTION_MS_DEFAULT, INBOX_RETENTION_MS_MIN, OUTBOX_RETENTION_MS_DEFAULT } from './retention.js';

const DAY_MS = 24 * 3_600_000;
const NOW = new Date('2026-12-02T12:00:00Z');
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY_MS).toISOString();
const defaults = { outboxPublishedMs: OUTBOX_RETENTION_MS_DEFAULT, inboxMs: INBOX_RETENTION_MS_DEFAULT };

let database: TestDatabase;
let db: PgDatabase;

beforeAll(async () => {
  database = await createTestDatabase('wallet');
  db = createPgDatabase(database.url, { poolMax: 2 });
});

afterAll(async () => {
  await db?.end();
  await database?.drop();
});

beforeEach(async () => {
  await db.$executeRawUnsafe('DELETE FROM outbox_messages');
  await db.$executeRawUnsafe('DELETE FROM inbox_messages');
});

async function outboxRow(label: string, createdDaysAgo: number, publishedDaysAgo: number | null): Promise<void> {
  await db.$executeRawUnsafe(
    `INSERT INTO outbox_messages (id, routing_key, event_type, schema_version, correlation_id, payload, created_at, published_at)
     VALUES ($1::uuid, 'test.event', 'test.event', 1, $2, '{}'::jsonb, $3::timestamptz, $4::timestamptz)`,
    randomUUID(),
    label,
    daysAgo(createdDaysAgo),
    publishedDaysAgo === null ? null : daysAgo(publishedDaysAgo),
  );
}

async function inboxRow(messageId: string, processedDaysAgo: number): Promise<void> {
  await db.$executeRawUnsafe('INSERT INTO inbox_messages (consumer, message_id, processed_at) VALUES ($1, $2, $3::timestamptz)', 'wallet.test', messageId, daysAgo(processedDaysAgo));
}

async function remaining() {
  const outbox = await db.$queryRawUnsafe<{ correlation_id: string }[]>('SELECT correlation_id FROM outbox_messages ORDER BY correlation_id');
  const inbox = await db.$queryRawUnsafe<{ message_id: string }[]>('SELECT message_id FROM inbox_messages ORDER BY message_id');
  return { outbox: outbox.map((row) => row.correlation_id), inbox: inbox.map((row) => row.message_id) };
}

test('published outbox rows older than 7 days and inbox rows older than 30 days are deleted; the rest stays', async () => {
  await outboxRow('published-8d', 8, 8);
  await outboxRow('published-6d', 8, 6);
  await outboxRow('unpublished-40d', 40, null);
  await inboxRow('processed-31d', 31);
  await inboxRow('processed-29d', 29);
  expect(await deleteExpiredMessages(db, defaults, { now: NOW })).toEqual({ outbox: 1, inbox: 1 });
  expect(await remaining()).toEqual({ outbox: ['published-6d', 'unpublished-40d'], inbox: ['processed-29d'] });
  // Nothing more to do.
  expect(await deleteExpiredMessages(db, defaults, { now: NOW })).toEqual({ outbox: 0, inbox: 0 });
});

test('a run deletes at most its batches; the next run goes on', async () => {
  for (let i = 0; i < 5; i++) await outboxRow(`old-${i}`, 20, 10 + i);
  expect(await deleteExpiredMessages(db, defaults, { now: NOW, batchSize: 2, batchesMax: 2 })).toEqual({ outbox: 4, inbox: 0 });
  // Oldest first: the one published most recently is what is left.
  expect((await remaining()).outbox).toEqual(['old-0']);
  expect(await deleteExpiredMessages(db, defaults, { now: NOW, batchSize: 2, batchesMax: 2 })).toEqual({ outbox: 1, inbox: 0 });
  expect((await remaining()).outbox).toEqual([]);
});

test('a retention below its minimum is refused before anything is deleted', async () => {
  await outboxRow('published-8d', 8, 8);
  await inboxRow('processed-31d', 31);
  await expect(deleteExpiredMessages(db, { ...defaults, inboxMs: INBOX_RETENTION_MS_MIN - 1 }, { now: NOW })).rejects.toThrow('inbox rows must be kept at least');
  await expect(deleteExpiredMessages(db, { ...defaults, outboxPublishedMs: 0 }, { now: NOW })).rejects.toThrow('published outbox rows must be kept at least');
  expect(await remaining()).toEqual({ outbox: ['published-8d'], inbox: ['processed-31d'] });
});
