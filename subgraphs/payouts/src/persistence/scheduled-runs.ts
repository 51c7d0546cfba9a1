// Progress of the daily payout runs, one row per UTC day (prisma/payouts/schema.prisma, model
// ScheduledPayoutRun): the wallet's cursor to resume from, whether the pages are done, whether the
// day completed, and the claim of the one run that may work on it. Days are 'YYYY-MM-DD' strings
// here and DATE in the table.
//
// A run claims the day (claim + 1, a lease of leaseMs) only while no unexpired claim holds it, and
// every write of its progress carries the claim number it got: a write finds nothing to update
// once another run took the day over, so the stored cursor only ever moves forward under the
// claim that is current, whatever a stalled run does afterwards.
import { invariant, type SqlClient } from '@clearhouse/shared';

export interface ScheduledRunProgress {
  readonly day: string;
  /** The wallet's cursor after the last page finished; null: from the first page (or pages done). */
  readonly resumeAfter: string | null;
  /** Every balance was visited; only the day's failures may be left. */
  readonly pagesDone: boolean;
  readonly completed: boolean;
}

/** The day as a run claimed it: `claim` is its number, checked by every write of its progress. */
export interface ClaimedScheduledRun extends ScheduledRunProgress {
  readonly claim: number;
}

export type ScheduledRunClaim =
  | { readonly kind: 'claimed'; readonly run: ClaimedScheduledRun }
  | { readonly kind: 'completed' }
  /** Another run's claim holds the day until claimedUntil. */
  | { readonly kind: 'held'; readonly claimedUntil: Date | null };

interface Row {
  day: string;
  resume_after: string | null;
  pages_done: boolean;
  completed: boolean;
  claim: number;
  claimed_until: Date | null;
}

function progressOf(row: Row): ScheduledRunProgress {
  return { day: row.day, resumeAfter: row.resume_after, pagesDone: row.pages_done, completed: row.completed };
}

const COLUMNS = `day::text AS day, resume_after, pages_done_at IS NOT NULL AS pages_done, completed_at IS NOT NULL AS completed, claim, claimed_until`;
/** SQL for the end of a lease of `$<param>` ms from now. */
function lease(param: number): string {
  return `now() + make_interval(secs => $${param}::double precision / 1000)`;
}

function assertLeaseMs(leaseMs: number): void {
  invariant(Number.isInteger(leaseMs) && leaseMs > 0, `a claim's lease must be a positive whole number of ms, got ${leaseMs}`);
}

/**
 * Claims the day's run for leaseMs: records the day as started (from the first page) if it had
 * no row. 'completed': nothing to do; 'held': another run's unexpired claim holds it.
 */
export async function claimScheduledRun(db: SqlClient, day: string, leaseMs: number): Promise<ScheduledRunClaim> {
  assertLeaseMs(leaseMs);
  const claimed = await db.$queryRawUnsafe<Row[]>(
    `INSERT INTO scheduled_payout_runs AS r (day, claim, claimed_until) VALUES ($1::date, 1, ${lease(2)})
     ON CONFLICT (day) DO UPDATE SET claim = r.claim + 1, claimed_until = EXCLUDED.claimed_until, updated_at = now()
       WHERE r.completed_at IS NULL AND (r.claimed_until IS NULL OR r.claimed_until <= now())
     RETURNING ${COLUMNS}`,
    day,
    leaseMs,
  );
  const row = claimed[0];
  if (row) return { kind: 'claimed', run: { ...progressOf(row), claim: row.claim } };
  const current = await db.$queryRawUnsafe<Row[]>(`SELECT ${COLUMNS} FROM scheduled_payout_runs WHERE day = $1::date`, day);
  invariant(current[0] !== undefined, `scheduled run of ${day} vanished while it was claimed`);
  return current[0].completed ? { kind: 'completed' } : { kind: 'held', claimedUntil: current[0].claimed_until };
}

export async function findScheduledRun(db: SqlClient, day: string): Promise<ScheduledRunProgress | null> {
  const rows = await db.$queryRawUnsafe<Row[]>(`SELECT ${COLUMNS} FROM scheduled_payout_runs WHERE day = $1::date`, day);
  return rows[0] ? progressOf(rows[0]) : null;
}

/** The latest day up to `lastDay` whose run started, if any. */
export async function latestScheduledRun(db: SqlClient, lastDay: string): Promise<ScheduledRunProgress | null> {
  const rows = await db.$queryRawUnsafe<Row[]>(`SELECT ${COLUMNS} FROM scheduled_payout_runs WHERE day <= $1::date ORDER BY day DESC LIMIT 1`, lastDay);
  return rows[0] ? progressOf(rows[0]) : null;
}

/** Extends the run's lease; false: another run took the day over (or it completed). */
export async function renewScheduledRunClaim(db: SqlClient, run: ClaimedScheduledRun, leaseMs: number): Promise<boolean> {
  assertLeaseMs(leaseMs);
  const updated = await db.$executeRawUnsafe(
    `UPDATE scheduled_payout_runs SET claimed_until = ${lease(3)}, updated_at = now() WHERE day = $1::date AND claim = $2 AND completed_at IS NULL`,
    run.day,
    run.claim,
    leaseMs,
  );
  return updated === 1;
}

/** Records the cursor after a finished page and extends the lease; false: the claim is lost, nothing written. */
export async function saveScheduledRunCursor(db: SqlClient, run: ClaimedScheduledRun, resumeAfter: string, leaseMs: number): Promise<boolean> {
  assertLeaseMs(leaseMs);
  const updated = await db.$executeRawUnsafe(
    `UPDATE scheduled_payout_runs SET resume_after = $3, claimed_until = ${lease(4)}, updated_at = now()
      WHERE day = $1::date AND claim = $2 AND completed_at IS NULL AND pages_done_at IS NULL`,
    run.day,
    run.claim,
    resumeAfter,
    leaseMs,
  );
  return updated === 1;
}

/** Records that every balance was visited; false: the claim is lost, nothing written. */
export async function markScheduledRunPagesDone(db: SqlClient, run: ClaimedScheduledRun, leaseMs: number): Promise<boolean> {
  assertLeaseMs(leaseMs);
  const updated = await db.$executeRawUnsafe(
    `UPDATE scheduled_payout_runs SET resume_after = NULL, pages_done_at = COALESCE(pages_done_at, now()), claimed_until = ${lease(3)}, updated_at = now()
      WHERE day = $1::date AND claim = $2 AND completed_at IS NULL`,
    run.day,
    run.claim,
    leaseMs,
  );
  return updated === 1;
}

/** Marks the day complete and ends the claim; false: the claim is lost, nothing written. */
export async function completeScheduledRun(db: SqlClient, run: ClaimedScheduledRun): Promise<boolean> {
  const updated = await db.$executeRawUnsafe(
    `UPDATE scheduled_payout_runs SET completed_at = now(), claimed_until = NULL, updated_at = now()
      WHERE day = $1::date AND claim = $2 AND completed_at IS NULL AND pages_done_at IS NOT NULL`,
    run.day,
    run.claim,
  );
  return updated === 1;
}

/** Ends the run's claim, so that the next tick of any process may go on at once (a no-op once taken over). */
export async function releaseScheduledRunClaim(db: SqlClient, run: ClaimedScheduledRun): Promise<void> {
  await db.$executeRawUnsafe(`UPDATE scheduled_payout_runs SET claimed_until = NULL, updated_at = now() WHERE day = $1::date AND claim = $2`, run.day, run.claim);
}

/**
 * Deletes at most `limit` runs of days before `beforeDay` (the retention's cutoff), never the
 * latest day up to `today` that started (runDueScheduledPayouts resumes it while it is incomplete,
 * and with it gone an older incomplete day would be taken for it), a day a run holds, or a day
 * whose failures are not deleted yet (deleteScheduledFailuresBefore goes first). Returns the
 * number deleted.
 */
export async function deleteScheduledRunsBefore(db: SqlClient, beforeDay: string, today: string, limit: number): Promise<number> {
  invariant(beforeDay < today, `the retention's cutoff ${beforeDay} must be before today (${today})`);
  return db.$executeRawUnsafe(
    `DELETE FROM scheduled_payout_runs WHERE ctid IN (
       SELECT r.ctid FROM scheduled_payout_runs r
        WHERE r.day < $1::date
          AND r.day < (SELECT max(latest.day) FROM scheduled_payout_runs latest WHERE latest.day <= $2::date)
          AND (r.claimed_until IS NULL OR r.claimed_until <= now())
          AND NOT EXISTS (SELECT 1 FROM scheduled_payout_failures f WHERE f.day = r.day)
        LIMIT $3)`,
    beforeDay,
    today,
    limit,
  );
}
