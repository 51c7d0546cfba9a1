// Retention of the messaging kit's bookkeeping. A published outbox row is kept for diagnosis (what
// was sent, when, after how many attempts) and an inbox row for the duplicate check of a late
// redelivery; after that both are deleted in bounded batches, so that a busy installation's
// tables do not grow without end (a million payments a day write some ten million of them). An
// outbox row not yet published is never deleted, however old.
import type { SqlClient } from './sql.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** Published outbox rows: at least an hour (the relay and operators look at recent ones). */
export const OUTBOX_RETENTION_MS_MIN = HOUR_MS;
export const OUTBOX_RETENTION_MS_DEFAULT = 7 * DAY_MS;
/**
 * Inbox rows: at least a week, far beyond any redelivery (retry tiers take seconds; a relay that
 * crashed after publishing republishes on restart; a dead-lettered message has no inbox row).
 */
export const INBOX_RETENTION_MS_MIN = 7 * DAY_MS;
export const INBOX_RETENTION_MS_DEFAULT = 30 * DAY_MS;
/** How often a service deletes expired rows. */
export const MESSAGING_CLEANUP_INTERVAL_MS = HOUR_MS;

export interface MessagingRetention {
  readonly outboxPublishedMs: number;
  readonly inboxMs: number;
}

const DELETE_BATCH_SIZE = 5_000;
const BATCHES_PER_RUN_MAX = 100;

async function deleteInBatches(db: SqlClient, statement: string, cutoff: Date, batchSize: number, batchesMax: number): Promise<number> {
  let deleted = 0;
  for (let batch = 0; batch < batchesMax; batch++) {
    const count = await db.$executeRawUnsafe(statement, cutoff.toISOString(), batchSize);
    deleted += count;
    if (count < batchSize) break;
  }
  return deleted;
}

/**
 * Deletes published outbox rows published before now − outboxPublishedMs and inbox rows
 * processed before now − inboxMs, at most batchesMax batches of batchSize rows each (the next
 * run goes on). Throws when a retention is below its minimum, before deleting anything.
 */
export async function deleteExpiredMessages(
  db: SqlClient,
  retention: MessagingRetention,
  options: { now?: Date; batchSize?: number; batchesMax?: number } = {},
): Promise<{ outbox: number; inbox: number }> {
  if (!(retention.outboxPublishedMs >= OUTBOX_RETENTION_MS_MIN)) throw new Error(`published outbox rows must be kept at least ${OUTBOX_RETENTION_MS_MIN} ms`);
  if (!(retention.inboxMs >= INBOX_RETENTION_MS_MIN)) throw new Error(`inbox rows must be kept at least ${INBOX_RETENTION_MS_MIN} ms`);
  const now = options.now ?? new Date();
  const batchSize = options.batchSize ?? DELETE_BATCH_SIZE;
  const batchesMax = options.batchesMax ?? BATCHES_PER_RUN_MAX;
  const outbox = await deleteInBatches(
    db,
    `DELETE FROM outbox_messages WHERE id IN (
       SELECT id FROM outbox_messages WHERE published_at < $1::timestamptz ORDER BY published_at LIMIT $2::int)`,
    new Date(now.getTime() - retention.outboxPublishedMs),
    batchSize,
    batchesMax,
  );
  const inbox = await deleteInBatches(
    db,
    `DELETE FROM inbox_messages WHERE (consumer, message_id) IN (
       SELECT consumer, message_id FROM inbox_messages WHERE processed_at < $1::timestamptz ORDER BY processed_at LIMIT $2::int)`,
    new Date(now.getTime() - retention.inboxMs),
    batchSize,
    batchesMax,
  );
  return { outbox, inbox };
}
