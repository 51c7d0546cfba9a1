import type { Connection } from 'rabbitmq-client';
import { LIVE_ONLY_EVENT_TYPES } from '../events/registry.js';
import type { DomainEvent } from './envelope.js';
import { encodeEnvelope, eventProperties } from './envelope.js';
import { describeError } from './failures.js';
import type { MessagingLogger } from './logger.js';
import type { SqlClient, TransactionalDb } from './sql.js';
import { eventsExchangeDeclaration } from './topology.js';
import { ConfirmPublisher } from './publisher.js';
import { Sleeper, exponentialBackoffMs, yieldToEventLoop } from './timing.js';
import type { MessagingMetrics } from './metrics.js';

/** Stored in the row's headers so the relay republishes the producer's own timestamp. */
const OCCURRED_AT_KEY = 'x-clearhouse-occurred-at';

/**
 * Adds `event` to the outbox inside the caller's transaction, so it is published if and only if
 * the state change it describes commits.
 */
export async function writeOutbox(tx: SqlClient, event: DomainEvent<unknown>, headers: Record<string, string | number | boolean> = {}): Promise<void> {
  const inserted = await tx.$executeRawUnsafe(
    `INSERT INTO outbox_messages (id, routing_key, event_type, schema_version, correlation_id, payload, headers)
     VALUES ($1::uuid, $2, $3, $4::int, $5, $6::jsonb, $7::jsonb)`,
    event.messageId,
    event.type,
    event.type,
    event.schemaVersion,
    event.correlationId,
    JSON.stringify(event.payload),
    JSON.stringify({ ...headers, [OCCURRED_AT_KEY]: event.occurredAt }),
  );
  if (inserted !== 1) throw new Error(`outbox insert of ${event.messageId} wrote ${inserted} rows`);
}

/**
 * The INSERT of writeOutboxBatch with its parameters numbered from `$${firstParam}`, for a caller
 * that writes the outbox rows in the same statement as its own rows (a data-modifying CTE,
 * `RETURNING 1` so the caller can count them): one round trip instead of two.
 */
export function outboxBatchInsert(events: readonly DomainEvent<unknown>[], firstParam = 1): { sql: string; params: unknown[] } {
  const p = (offset: number) => `$${firstParam + offset}`;
  return {
    sql: `INSERT INTO outbox_messages (id, routing_key, event_type, schema_version, correlation_id, payload, headers)
     SELECT id, event_type, event_type, schema_version, correlation_id, payload, headers
       FROM unnest(${p(0)}::uuid[], ${p(1)}::text[], ${p(2)}::int[], ${p(3)}::text[], ${p(4)}::jsonb[], ${p(5)}::jsonb[])
            AS e(id, event_type, schema_version, correlation_id, payload, headers)`,
    params: [
      events.map((event) => event.messageId),
      events.map((event) => event.type),
      events.map((event) => event.schemaVersion),
      events.map((event) => event.correlationId),
      events.map((event) => JSON.stringify(event.payload)),
      events.map((event) => JSON.stringify({ [OCCURRED_AT_KEY]: event.occurredAt })),
    ],
  };
}

/** writeOutbox for several events in one statement (same rows, same transaction rule). */
export async function writeOutboxBatch(tx: SqlClient, events: readonly DomainEvent<unknown>[]): Promise<void> {
  if (events.length === 0) return;
  const insert = outboxBatchInsert(events);
  const inserted = await tx.$executeRawUnsafe(insert.sql, ...insert.params);
  if (inserted !== events.length) throw new Error(`outbox insert of ${events.length} events wrote ${inserted} rows`);
}

export interface OutboxRelayOptions {
  db: TransactionalDb;
  connection: Connection;
  /** The events exchange (`eventsExchangeName(prefix)`); declared by the relay. */
  exchange: string;
  logger: MessagingLogger;
  /** Rows claimed per transaction. */
  batchSize?: number;
  /** Sleep between polls after a run that found work (default 100 ms). */
  pollIntervalMs?: number;
  /**
   * Idle polls back off: each poll that finds nothing doubles the sleep, up to this (default
   * 1000 ms); a wake() or found work resets it. Commits in this process wake the relay at once,
   * so the backoff only delays rows written by other processes.
   */
  idlePollIntervalMsMax?: number;
  /** Cap of the per-row backoff after failed publishes (unroutable, broker down). */
  failureBackoffMsMax?: number;
  /** Longest wait for one publisher confirm. */
  publishTimeoutMs?: number;
  /**
   * After a wake-up, wait this long before claiming, so commits that land together are published
   * in one run (one claim, one marking, confirms in one round) instead of one run each. Default 0.
   */
  lingerMs?: number;
  onPublished?: (events: readonly DomainEvent<unknown>[]) => void;
  /** Counts published events (after the marking committed) and failed publishes, by event type. */
  metrics?: Pick<MessagingMetrics, 'outboxPublished' | 'outboxPublishFailures'>;
  /** Test hook: die after the broker confirmed the batch and before it is marked published. */
  crashAfterPublishForTest?: boolean;
}

export interface OutboxRelay {
  start(): void;
  /** Stops polling; the in-flight batch finishes first. */
  stop(): Promise<void>;
  /** Cuts the idle sleep short (call after committing an outbox row in this process). */
  wake(): void;
  /** Claims and publishes one batch; returns the number of rows marked published. */
  runOnce(options?: { knownPending?: boolean }): Promise<number>;
  /** Unpublished rows, for a gauge. */
  backlog(): Promise<number>;
}

interface OutboxRow {
  id: string;
  routing_key: string;
  event_type: string;
  schema_version: number;
  correlation_id: string;
  payload: unknown;
  headers: unknown;
  created_at: Date | string;
  attempts: number;
}

const BATCH_SIZE_DEFAULT = 100;
const BATCH_SIZE_MAX = 1000;
const POLL_INTERVAL_MS_DEFAULT = 100;
const IDLE_POLL_INTERVAL_MS_MAX_DEFAULT = 1_000;
const FAILURE_BACKOFF_MS_MAX_DEFAULT = 30_000;
const PUBLISH_TIMEOUT_MS_DEFAULT = 10_000;
/** Bound on the in-memory backoff table; the oldest entries go first when it is full. */
const BACKOFF_ENTRIES_MAX = 10_000;
const LAST_ERROR_LENGTH_MAX = 1000;

export class RelayCrashForTest extends Error {
  override readonly name = 'RelayCrashForTest';
}

export function createOutboxRelay(options: OutboxRelayOptions): OutboxRelay {
  const { db, connection, exchange, logger } = options;
  const batchSize = options.batchSize ?? BATCH_SIZE_DEFAULT;
  const pollIntervalMs = options.pollIntervalMs ?? POLL_INTERVAL_MS_DEFAULT;
  const idlePollIntervalMsMax = Math.max(options.idlePollIntervalMsMax ?? IDLE_POLL_INTERVAL_MS_MAX_DEFAULT, pollIntervalMs);
  const failureBackoffMsMax = options.failureBackoffMsMax ?? FAILURE_BACKOFF_MS_MAX_DEFAULT;
  const publishTimeoutMs = options.publishTimeoutMs ?? PUBLISH_TIMEOUT_MS_DEFAULT;
  const lingerMs = options.lingerMs ?? 0;
  if (!(lingerMs >= 0 && lingerMs <= 1_000)) throw new Error('lingerMs must be 0..1000');
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > BATCH_SIZE_MAX) throw new Error(`batchSize must be 1..${BATCH_SIZE_MAX}`);
  if (!(pollIntervalMs > 0)) throw new Error('pollIntervalMs must be positive');
  if (!(idlePollIntervalMsMax <= 3_600_000)) throw new Error('idlePollIntervalMsMax must be at most an hour');

  // Rows whose last publish failed wait here (id → epoch ms) so one unroutable event neither
  // blocks the rows behind it nor is hammered every poll. In memory: another relay instance
  // may retry sooner, which is harmless (consumers are idempotent).
  const notBeforeMsById = new Map<string, number>();
  const sleeper = new Sleeper();
  let publisher: ConfirmPublisher | undefined;
  let loop: Promise<void> | undefined;
  let stopping = false;

  function getPublisher(): ConfirmPublisher {
    publisher ??= new ConfirmPublisher(connection, { exchanges: [eventsExchangeDeclaration(exchange)], publishTimeoutMs });
    return publisher;
  }

  function backedOffIds(): string[] {
    const nowMs = Date.now();
    const ids: string[] = [];
    for (const [id, notBeforeMs] of notBeforeMsById) {
      if (notBeforeMs <= nowMs) notBeforeMsById.delete(id);
      else ids.push(id);
    }
    return ids;
  }

  function backOff(id: string, attempts: number): void {
    notBeforeMsById.delete(id);
    notBeforeMsById.set(id, Date.now() + exponentialBackoffMs(pollIntervalMs, attempts, failureBackoffMsMax));
    if (notBeforeMsById.size > BACKOFF_ENTRIES_MAX) {
      const oldest = notBeforeMsById.keys().next();
      if (!oldest.done) notBeforeMsById.delete(oldest.value);
    }
  }

  function toEvent(row: OutboxRow): { event: DomainEvent<unknown>; headers: Record<string, unknown> } {
    const headers = { ...(typeof row.headers === 'object' && row.headers !== null ? (row.headers as Record<string, unknown>) : {}) };
    const createdAt = row.created_at instanceof Date ? row.created_at.toISOString() : new Date(row.created_at).toISOString();
    const occurredAt = typeof headers[OCCURRED_AT_KEY] === 'string' ? (headers[OCCURRED_AT_KEY] as string) : createdAt;
    delete headers[OCCURRED_AT_KEY];
    const event: DomainEvent<unknown> = {
      messageId: row.id,
      type: row.event_type,
      schemaVersion: Number(row.schema_version),
      correlationId: row.correlation_id,
      occurredAt,
      payload: row.payload,
    };
    return { event, headers };
  }

  async function publishOne(row: OutboxRow): Promise<{ event: DomainEvent<unknown>; error?: string }> {
    const { event, headers } = toEvent(row);
    try {
      await getPublisher().publish({ exchange, routingKey: row.routing_key, ...eventProperties(event, headers) }, encodeEnvelope(event), {
        mayBeUnroutable: LIVE_ONLY_EVENT_TYPES.has(row.event_type),
      });
      return { event };
    } catch (err) {
      return { event, error: describeError(err, LAST_ERROR_LENGTH_MAX) };
    }
  }

  let lastOutcome = { claimed: 0, failed: 0 };

  async function runOnce({ knownPending = false }: { knownPending?: boolean } = {}): Promise<number> {
    // An idle poll is one cheap indexed read, not a transaction of three round trips; after a
    // wake-up (a commit in this process wrote a row) the read is skipped.
    if (!knownPending) {
      const pending = await db.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM outbox_messages WHERE published_at IS NULL LIMIT 1`);
      if (pending.length === 0) {
        lastOutcome = { claimed: 0, failed: 0 };
        return 0;
      }
    }
    // The rows stay locked (FOR UPDATE SKIP LOCKED) while they are published, so concurrent
    // relays never publish the same row at once. This is the one place where a broker call
    // happens inside a transaction: the lock is what makes several relays safe, and the
    // transaction timeout below bounds how long it is held. The claim marks the rows published
    // in the same statement (one round trip instead of a read and an update): if the process
    // dies before COMMIT, the mark rolls back with it; a row whose publish failed is unmarked.
    const outcome = await db.$transaction(
      async (tx) => {
        const rows = await tx.$queryRawUnsafe<OutboxRow[]>(
          `UPDATE outbox_messages o
              SET published_at = now(), attempts = o.attempts + 1, last_error = NULL
             FROM (SELECT id FROM outbox_messages
                    WHERE published_at IS NULL AND NOT (id = ANY($2::uuid[]))
                    ORDER BY created_at, id
                    LIMIT $1
                    FOR UPDATE SKIP LOCKED) claimed
            WHERE o.id = claimed.id
        RETURNING o.id::text AS id, o.routing_key, o.event_type, o.schema_version, o.correlation_id, o.payload, o.headers, o.created_at, o.attempts - 1 AS attempts`,
          batchSize,
          backedOffIds(),
        );
        if (rows.length === 0) return { claimed: 0, published: [] as DomainEvent<unknown>[], failed: 0 };
        // RETURNING gives no order: publish in the outbox's order.
        rows.sort((a, b) => new Date(a.created_at).getTime() - new Date(b.created_at).getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const results = await Promise.all(rows.map(publishOne));
        if (options.crashAfterPublishForTest) throw new RelayCrashForTest('relay crashed after publishing, before marking');

        let failed = 0;
        for (const [index, result] of results.entries()) {
          if (result.error === undefined) continue;
          failed++;
          options.metrics?.outboxPublishFailures.inc({ event_type: result.event.type });
          const row = rows[index];
          await tx.$executeRawUnsafe(`UPDATE outbox_messages SET published_at = NULL, last_error = $2 WHERE id = $1::uuid`, result.event.messageId, result.error);
          backOff(result.event.messageId, (row?.attempts ?? 0) + 1);
          logger.warn({ messageId: result.event.messageId, routingKey: result.event.type, attempts: (row?.attempts ?? 0) + 1, error: result.error }, 'outbox publish failed; will retry');
        }
        return { claimed: rows.length, published: results.filter((r) => r.error === undefined).map((r) => r.event), failed };
      },
      { timeout: publishTimeoutMs + 15_000, maxWait: 10_000 },
    );
    for (const event of outcome.published) {
      notBeforeMsById.delete(event.messageId);
      options.metrics?.outboxPublished.inc({ event_type: event.type });
    }
    if (outcome.published.length > 0) options.onPublished?.(outcome.published);
    lastOutcome = outcome;
    return outcome.published.length;
  }

  async function run(): Promise<void> {
    let errorStreak = 0;
    let idleStreak = 0;
    let woken = false;
    while (!stopping) {
      if (woken && lingerMs > 0) await new Promise((resolve) => setTimeout(resolve, lingerMs));
      try {
        await runOnce({ knownPending: woken });
        errorStreak = 0;
      } catch (err) {
        errorStreak++;
        logger.error({ err, errorStreak }, 'outbox relay batch failed');
      }
      if (stopping) break;
      // A full, clean batch means more is probably waiting: go again at once.
      const busy = errorStreak === 0 && lastOutcome.claimed === batchSize && lastOutcome.failed === 0;
      woken = busy;
      idleStreak = errorStreak === 0 && lastOutcome.claimed === 0 ? idleStreak + 1 : 0;
      if (busy) await yieldToEventLoop();
      else {
        const sleepMs = errorStreak > 0 ? exponentialBackoffMs(pollIntervalMs, errorStreak, failureBackoffMsMax) : exponentialBackoffMs(pollIntervalMs, idleStreak, idlePollIntervalMsMax);
        woken = await sleeper.sleep(sleepMs);
        if (woken) idleStreak = 0;
      }
    }
  }

  return {
    start() {
      if (loop) return;
      stopping = false;
      loop = run();
    },
    async stop() {
      stopping = true;
      sleeper.wake();
      await loop;
      loop = undefined;
      const closing = publisher;
      publisher = undefined;
      await closing?.close();
    },
    wake() {
      sleeper.wake();
    },
    runOnce,
    async backlog() {
      const rows = await db.$queryRawUnsafe<{ count: number }[]>(`SELECT count(*)::int AS count FROM outbox_messages WHERE published_at IS NULL`);
      return Number(rows[0]?.count ?? 0);
    },
  };
}
