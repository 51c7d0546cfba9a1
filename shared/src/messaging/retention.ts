// Retention of the messaging kit's bookkeeping. A published outbox row is kept for diagnosis (what
// was sent, when, after how many attempts) and an inbox row for the duplicate check of a late
// redelivery; after that both are deleted in bounded batches, so that a busy installation's
// tables do not grow without end (a million payments a day write some ten million of them). An
// outbox row not yet published is never deleted, however old.
import { deleteInBatches } from '../db/batches.js';
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
  const batches = { batchSize: options.batchSize ?? DELETE_BATCH_SIZE, batchesMax: options.batchesMax ?? BATCHES_PER_RUN_MAX };
  const outboxCutoff = new Date(now.getTime() - retention.outboxPublishedMs).toISOString();
  const inboxCutoff = new Date(now.getTime() - retention.inboxMs).toISOString();
  const outbox = await deleteInBatches(
    (limit) =>
      db.$executeRawUnsafe(
        `DELETE FROM outbox_messages WHERE id IN (
           SELECT id FROM outbox_messages WHERE published_at < $1::timestamptz ORDER BY published_at LIMIT $2::int)`,
        outboxCutoff,
        limit,
      ),
    batches,
  );
  const inbox = await deleteInBatches(
    (limit) =>
      db.$executeRawUnsafe(
        `DELETE FROM inbox_messages WHERE (consumer, message_id) IN (
           SELECT consumer, message_id FROM inbox_messages WHERE processed_at < $1::timestamptz ORDER BY processed_at LIMIT $2::int)`,
        inboxCutoff,
        limit,
      ),
    batches,
  );
  return { outbox, inbox };
}
