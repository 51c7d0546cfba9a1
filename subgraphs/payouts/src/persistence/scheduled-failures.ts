// Sellers whose scheduled payout of a day failed for an unexpected reason (prisma/payouts/
// schema.prisma, model ScheduledPayoutFailure), for the later runs of that day to retry.
// Days are 'YYYY-MM-DD' strings here and DATE in the table.
import { invariant, type SqlClient } from '@clearhouse/shared';

export interface ScheduledFailure {
  readonly sellerId: string;
  readonly currency: string;
  readonly attempts: number;
  readonly lastError: string;
}

interface Row {
  seller_id: string;
  currency: string;
  attempts: number;
  last_error: string;
}

const ERROR_CHARS_MAX = 2_000;
const COLUMNS = `seller_id, currency, attempts, last_error`;

function failureOf(row: Row): ScheduledFailure {
  return { sellerId: row.seller_id, currency: row.currency, attempts: row.attempts, lastError: row.last_error };
}

/**
 * Records one more failed attempt of the seller's payout of the day; the next is due after
 * retryDelayMs doubled for every attempt before this one. Answers the attempts made.
 */
export async function recordScheduledFailure(
  db: SqlClient,
  failure: { day: string; sellerId: string; currency: string; error: string; retryDelayMs: number },
): Promise<number> {
  invariant(Number.isInteger(failure.retryDelayMs) && failure.retryDelayMs >= 0, `retryDelayMs must be a whole number of ms >= 0, got ${failure.retryDelayMs}`);
  const rows = await db.$queryRawUnsafe<{ attempts: number }[]>(
    `INSERT INTO scheduled_payout_failures AS f (day, seller_id, currency, attempts, last_error, next_attempt_at)
     VALUES ($1::date, $2, $3, 1, $4, now() + make_interval(secs => $5::double precision / 1000))
     ON CONFLICT (day, seller_id, currency) DO UPDATE
       SET attempts = f.attempts + 1, last_error = EXCLUDED.last_error, last_failed_at = now(),
           next_attempt_at = now() + make_interval(secs => $5::double precision / 1000 * power(2, f.attempts))
     RETURNING attempts`,
    failure.day,
    failure.sellerId,
    failure.currency,
    failure.error.slice(0, ERROR_CHARS_MAX),
    failure.retryDelayMs,
  );
  invariant(rows[0] !== undefined, 'recording a scheduled payout failure returned no row');
  return rows[0].attempts;
}

/** The seller's payout of the day went through (or was refused for a domain reason): nothing to retry. */
export async function clearScheduledFailure(db: SqlClient, day: string, sellerId: string, currency: string): Promise<void> {
  await db.$executeRawUnsafe(`DELETE FROM scheduled_payout_failures WHERE day = $1::date AND seller_id = $2 AND currency = $3`, day, sellerId, currency);
}

/** Failures of the day with attempts left whose next attempt is due, earliest first, at most `limit`. */
export async function dueScheduledFailures(db: SqlClient, day: string, attemptsMax: number, limit: number): Promise<ScheduledFailure[]> {
  const rows = await db.$queryRawUnsafe<Row[]>(
    `SELECT ${COLUMNS} FROM scheduled_payout_failures
      WHERE day = $1::date AND attempts < $2 AND next_attempt_at <= now()
      ORDER BY next_attempt_at, seller_id, currency LIMIT $3`,
    day,
    attemptsMax,
    limit,
  );
  return rows.map(failureOf);
}

/** How many failures of the day still have attempts left (due or not). */
export async function countRetryableFailures(db: SqlClient, day: string, attemptsMax: number): Promise<number> {
  const rows = await db.$queryRawUnsafe<{ count: number }[]>(`SELECT count(*)::int AS count FROM scheduled_payout_failures WHERE day = $1::date AND attempts < $2`, day, attemptsMax);
  return rows[0]?.count ?? 0;
}

/** Failures of the day that made all their attempts: at most `limit` of them, and how many there are. */
export async function exhaustedScheduledFailures(db: SqlClient, day: string, attemptsMax: number, limit: number): Promise<{ failures: ScheduledFailure[]; count: number }> {
  const rows = await db.$queryRawUnsafe<(Row & { total: number })[]>(
    `SELECT ${COLUMNS}, (count(*) OVER ())::int AS total FROM scheduled_payout_failures
      WHERE day = $1::date AND attempts >= $2 ORDER BY seller_id, currency LIMIT $3`,
    day,
    attemptsMax,
    limit,
  );
  return { failures: rows.map(failureOf), count: rows[0]?.total ?? 0 };
}

/**
 * Deletes at most `limit` failures of days before `beforeDay` (the retention's cutoff), never
 * those of the latest day up to `today` that started (it may still be resumed and retry them) or
 * of a day a run holds (scheduled-runs.ts, deleteScheduledRunsBefore, keeps the same days).
 * Returns the number deleted.
 */
export async function deleteScheduledFailuresBefore(db: SqlClient, beforeDay: string, today: string, limit: number): Promise<number> {
  invariant(beforeDay < today, `the retention's cutoff ${beforeDay} must be before today (${today})`);
  return db.$executeRawUnsafe(
    `DELETE FROM scheduled_payout_failures WHERE ctid IN (
       SELECT f.ctid FROM scheduled_payout_failures f
        WHERE f.day < $1::date
          AND f.day < (SELECT max(latest.day) FROM scheduled_payout_runs latest WHERE latest.day <= $2::date)
          AND NOT EXISTS (SELECT 1 FROM scheduled_payout_runs r WHERE r.day = f.day AND r.claimed_until > now())
        LIMIT $3)`,
    beforeDay,
    today,
    limit,
  );
}
