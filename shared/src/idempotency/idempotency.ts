// Idempotent mutations, handled once and centrally (ARCHITECTURE "Idempotency"): the pair
// (caller, key) is unique in `idempotency_keys` (every subgraph database has the table), stored
// with the operation, a SHA-256 of the canonical JSON of the input and the result.
//
//   first call            → a row `in_progress` (INSERT ... ON CONFLICT DO NOTHING), then execute
//   same key, same input  → completed: the stored response, replayed: true
//                           in progress (lock not expired): IDEMPOTENCY_KEY_IN_USE (retryable)
//                           released (a retryable failure) or an expired lock (a crashed
//                           holder): taken over and executed again; the operation must then
//                           finish the work the first run began (e.g. find its payment by key)
//   same key, other input → IDEMPOTENCY_KEY_REUSED; also when the operation itself finds the
//                           key's work made from another input (the key row was past its
//                           retention): the row this call claimed is then deleted again, so
//                           the refused input does not lock the original input out of its key
//
// Each claim sets `locked_until` to now() + the lock TTL, and a takeover is only possible once
// that moment has passed, so `locked_until` grows with every claim of a key: it is the claim's
// fencing token. A run writes its outcome only while the row still carries its own token, so a
// holder that outlived its lock cannot release or overwrite the key of the run that took it over.
//
// The key row is written in its own statement, never inside the operation's transaction: the
// operation may call a PSP, which must not happen inside a database transaction.
import { createHash } from 'node:crypto';
import { DomainError } from '../errors/index.js';
import type { SqlClient } from '../messaging/sql.js';
import { deleteInBatches } from '../db/batches.js';
import type { MessagingLogger } from '../messaging/logger.js';

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export const IDEMPOTENCY_KEY_LENGTH_MAX = 255;
export const IDEMPOTENCY_KEY_RETENTION_MS_MIN = 24 * 3600_000;
export const IDEMPOTENCY_CLEANUP_BATCH_MAX = 10_000;
const LOCK_TTL_MS_MIN = 1_000;
const LOCK_TTL_MS_MAX = 15 * 60_000;
const CANONICAL_DEPTH_MAX = 32;

export type IdempotencyStatus = 'in_progress' | 'completed' | 'released';

export interface RunIdempotentOptions {
  db: SqlClient;
  callerId: string;
  key: string;
  /** Names the mutation; the same key used for another operation counts as another input. */
  operation: string;
  /** The input; hashed canonically (object keys sorted, bigint as digits). */
  request: unknown;
  /** How long a run may hold the key before another request may take it over. */
  lockTtlMs: number;
  /**
   * Does the work. `retryable: true` (e.g. PSP_UNAVAILABLE) releases the key so a later call
   * with the same key runs again; otherwise the response is stored for replay. A throw also
   * releases the key and propagates. `takeover` is false when the key was never seen before (no
   * earlier run can have left work behind). An operation that ends in a database transaction of
   * its own may store the response there with `context.complete(tx, response)` (one commit
   * less, and the response is stored atomically with the work) and then return `completed: true`.
   */
  execute: (context: IdempotentExecutionContext) => Promise<{ response: JsonValue; retryable?: boolean; completed?: boolean }>;
}

export interface IdempotentExecutionContext {
  readonly takeover: boolean;
  /** Stores `response` as the key's completed response, inside the caller's transaction `tx`. */
  complete(tx: SqlClient, response: JsonValue): Promise<void>;
  /**
   * What `complete` runs, as an UPDATE whose parameters start at `$firstParam`, for a caller that
   * folds it into a statement of its own (a data-modifying CTE; the WHERE clause comes last).
   */
  completionStatement(response: JsonValue, firstParam: number): { sql: string; params: unknown[] };
}

export interface IdempotentResult {
  response: JsonValue;
  replayed: boolean;
}

interface KeyRow {
  operation: string;
  request_hash: string;
  status: IdempotencyStatus;
  response: JsonValue | null;
  lock_expired: boolean;
}

function canonicalize(value: unknown, depth: number): unknown {
  if (depth > CANONICAL_DEPTH_MAX) throw new Error('idempotency: request nested too deeply to hash');
  if (typeof value === 'bigint') return `${value.toString()}n`;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => canonicalize(item, depth + 1));
  if (value !== null && typeof value === 'object') {
    const sorted: Record<string, unknown> = {};
    for (const name of Object.keys(value).sort()) {
      const field = (value as Record<string, unknown>)[name];
      if (field !== undefined) sorted[name] = canonicalize(field, depth + 1);
    }
    return sorted;
  }
  return value === undefined ? null : value;
}

/** SHA-256 (hex) of the canonical JSON of `request`: key order and undefined fields do not matter. */
export function hashRequest(operation: string, request: unknown): string {
  return createHash('sha256').update(JSON.stringify([operation, canonicalize(request, 0)]), 'utf8').digest('hex');
}

// PostgreSQL text cannot hold NUL (the INSERT fails), and a lone surrogate is sent as U+FFFD, so
// two different keys would share one row: both are refused as input, never stored.
const UNSTORABLE_KEY_PATTERN = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

export function assertIdempotencyKey(key: string): void {
  if (typeof key !== 'string' || key.length < 1 || key.length > IDEMPOTENCY_KEY_LENGTH_MAX) {
    throw new DomainError('INVALID_INPUT', `idempotencyKey must be 1-${IDEMPOTENCY_KEY_LENGTH_MAX} characters`, { field: ['input', 'idempotencyKey'] });
  }
  if (UNSTORABLE_KEY_PATTERN.test(key)) {
    throw new DomainError('INVALID_INPUT', 'idempotencyKey must be valid Unicode text without NUL characters', { field: ['input', 'idempotencyKey'] });
  }
}

async function readRow(db: SqlClient, callerId: string, key: string): Promise<KeyRow | undefined> {
  const rows = await db.$queryRawUnsafe<KeyRow[]>(
    `SELECT operation, request_hash, status, response, (locked_until IS NULL OR locked_until <= now()) AS lock_expired
       FROM idempotency_keys WHERE caller_id = $1 AND key = $2`,
    callerId,
    key,
  );
  return rows[0];
}

/**
 * The claim's fencing token: its `locked_until` as ISO 8601 in UTC to the microsecond, which
 * reads back exactly whatever the session's DateStyle and TimeZone (`::text` would not).
 */
type LockToken = string;
const LOCK_TOKEN_SQL = `to_char(locked_until AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;

async function claimNew(db: SqlClient, options: RunIdempotentOptions, hash: string): Promise<LockToken | undefined> {
  const inserted = await db.$queryRawUnsafe<{ token: string }[]>(
    `INSERT INTO idempotency_keys (caller_id, key, operation, request_hash, status, locked_until)
     VALUES ($1, $2, $3, $4, 'in_progress', now() + ($5::int * interval '1 millisecond'))
     ON CONFLICT (caller_id, key) DO NOTHING
     RETURNING ${LOCK_TOKEN_SQL} AS token`,
    options.callerId,
    options.key,
    options.operation,
    hash,
    options.lockTtlMs,
  );
  return inserted[0]?.token;
}

/** Takes over a released key or one whose holder's lock expired; undefined if someone else did. */
async function claimExisting(db: SqlClient, options: RunIdempotentOptions, hash: string): Promise<LockToken | undefined> {
  const updated = await db.$queryRawUnsafe<{ token: string }[]>(
    `UPDATE idempotency_keys
        SET status = 'in_progress', locked_until = now() + ($5::int * interval '1 millisecond')
      WHERE caller_id = $1 AND key = $2 AND operation = $3 AND request_hash = $4
        AND (status = 'released' OR (status = 'in_progress' AND (locked_until IS NULL OR locked_until <= now())))
      RETURNING ${LOCK_TOKEN_SQL} AS token`,
    options.callerId,
    options.key,
    options.operation,
    hash,
    options.lockTtlMs,
  );
  return updated[0]?.token;
}

/** Writes the run's outcome, only while the row still carries the run's claim (see the header). */
function finishStatement(options: RunIdempotentOptions, token: LockToken, status: IdempotencyStatus, response: JsonValue | null, firstParam = 1): { sql: string; params: unknown[] } {
  const p = (offset: number) => `$${firstParam + offset}`;
  return {
    sql: `UPDATE idempotency_keys
        SET status = ${p(2)}, response = ${p(3)}::jsonb, locked_until = NULL,
            completed_at = CASE WHEN ${p(2)} = 'completed' THEN now() ELSE NULL END
      WHERE caller_id = ${p(0)} AND key = ${p(1)} AND locked_until = ${p(4)}::timestamptz`,
    params: [options.callerId, options.key, status, response === null ? null : JSON.stringify(response), token],
  };
}

async function finish(db: SqlClient, options: RunIdempotentOptions, token: LockToken, status: IdempotencyStatus, response: JsonValue | null): Promise<void> {
  const statement = finishStatement(options, token, status, response);
  await db.$executeRawUnsafe(statement.sql, ...statement.params);
}

/**
 * The operation found the key's work made from another input: this run's claim stands for
 * nothing, so it goes (released instead, it would carry the refused input's hash and refuse the
 * original input under its own key from then on).
 */
async function forget(db: SqlClient, options: RunIdempotentOptions, token: LockToken): Promise<void> {
  await db.$executeRawUnsafe(
    `DELETE FROM idempotency_keys WHERE caller_id = $1 AND key = $2 AND status = 'in_progress' AND locked_until = $3::timestamptz`,
    options.callerId,
    options.key,
    token,
  );
}

async function run(options: RunIdempotentOptions, takeover: boolean, token: LockToken): Promise<IdempotentResult> {
  let outcome: { response: JsonValue; retryable?: boolean; completed?: boolean };
  const context: IdempotentExecutionContext = {
    takeover,
    complete: (tx, response) => finish(tx, options, token, 'completed', response),
    completionStatement: (response, firstParam) => finishStatement(options, token, 'completed', response, firstParam),
  };
  try {
    outcome = await options.execute(context);
  } catch (error) {
    if (error instanceof DomainError && error.code === 'IDEMPOTENCY_KEY_REUSED') await forget(options.db, options, token);
    else await finish(options.db, options, token, 'released', null);
    throw error;
  }
  if (outcome.completed === true) {
    if (outcome.retryable === true) {
      await finish(options.db, options, token, 'released', null);
      throw new Error('runIdempotent: an operation cannot be both completed and retryable');
    }
    return { response: outcome.response, replayed: false };
  }
  await finish(options.db, options, token, outcome.retryable === true ? 'released' : 'completed', outcome.response);
  return { response: outcome.response, replayed: false };
}

export async function runIdempotent(options: RunIdempotentOptions): Promise<IdempotentResult> {
  assertIdempotencyKey(options.key);
  if (!Number.isInteger(options.lockTtlMs) || options.lockTtlMs < LOCK_TTL_MS_MIN || options.lockTtlMs > LOCK_TTL_MS_MAX) {
    throw new Error(`runIdempotent: lockTtlMs must be ${LOCK_TTL_MS_MIN}..${LOCK_TTL_MS_MAX}`);
  }
  const hash = hashRequest(options.operation, options.request);
  const newToken = await claimNew(options.db, options, hash);
  if (newToken !== undefined) return run(options, false, newToken);

  const row = await readRow(options.db, options.callerId, options.key);
  // Deleted by the cleanup between our INSERT and SELECT: only possible for a key older than the
  // retention, which a client should not reuse; treat it like a concurrent run.
  if (!row) throw new DomainError('IDEMPOTENCY_KEY_IN_USE', 'the idempotency key is being processed; retry shortly');
  if (row.operation !== options.operation || row.request_hash !== hash) {
    throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used with a different input', { field: ['input', 'idempotencyKey'] });
  }
  if (row.status === 'completed') return { response: row.response, replayed: true };
  if (row.status === 'released' || row.lock_expired) {
    const takeoverToken = await claimExisting(options.db, options, hash);
    if (takeoverToken !== undefined) return run(options, true, takeoverToken);
  }
  throw new DomainError('IDEMPOTENCY_KEY_IN_USE', 'a request with this idempotency key is still in progress; retry shortly');
}

/**
 * Deletes keys older than `retentionMs` (at least 24 hours) that nobody holds, at most
 * `batchMax` rows per call. Returns the number deleted.
 */
export async function deleteExpiredIdempotencyKeys(db: SqlClient, retentionMs: number, batchMax = IDEMPOTENCY_CLEANUP_BATCH_MAX): Promise<number> {
  if (retentionMs < IDEMPOTENCY_KEY_RETENTION_MS_MIN) throw new Error('idempotency keys must be kept at least 24 hours');
  if (!Number.isInteger(batchMax) || batchMax < 1 || batchMax > IDEMPOTENCY_CLEANUP_BATCH_MAX) throw new Error(`batchMax must be 1..${IDEMPOTENCY_CLEANUP_BATCH_MAX}`);
  return db.$executeRawUnsafe(
    `DELETE FROM idempotency_keys WHERE ctid IN (
       SELECT ctid FROM idempotency_keys
        WHERE created_at < now() - ($1::bigint * interval '1 millisecond')
          AND (status <> 'in_progress' OR locked_until IS NULL OR locked_until <= now())
        LIMIT $2)`,
    retentionMs,
    batchMax,
  );
}

/** The batches one cleanup run deletes at most (short statements, short locks; the next run goes on). */
const IDEMPOTENCY_CLEANUP_BATCHES = { batchSize: 5_000, batchesMax: 20 };

/**
 * A service's retention job for its idempotency keys (payments, ledger, payouts run it every
 * CLEANUP_INTERVAL_MS): deletes the keys older than `retentionMs` that no run holds, in bounded
 * batches, and logs how many. Returns the number deleted.
 */
export async function cleanupExpiredIdempotencyKeys(deps: { db: SqlClient; logger: Pick<MessagingLogger, 'info'> }, retentionMs: number): Promise<number> {
  const deleted = await deleteInBatches((limit) => deleteExpiredIdempotencyKeys(deps.db, retentionMs, limit), IDEMPOTENCY_CLEANUP_BATCHES);
  if (deleted > 0) deps.logger.info({ idempotencyKeys: deleted }, 'expired idempotency keys deleted');
  return deleted;
}
