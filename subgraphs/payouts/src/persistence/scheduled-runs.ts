// Progress of the daily payout runs, one row per UTC day (prisma/payouts/schema.prisma, model
// ScheduledPayoutRun): the wallet's cursor to resume from and whether the day completed. Days are
// 'YYYY-MM-DD' strings here and DATE in the table.
import type { SqlClient } from '@clearhouse/shared';

export interface ScheduledRunProgress {
  readonly day: string;
  /** The wallet's cursor after the last page finished; null: from the first page. */
  readonly resumeAfter: string | null;
  readonly completed: boolean;
}

interface Row {
  day: string;
  resume_after: string | null;
  completed: boolean;
}

function progressOf(row: Row): ScheduledRunProgress {
  return { day: row.day, resumeAfter: row.resume_after, completed: row.completed };
}

const COLUMNS = `day::text AS day, resume_after, completed_at IS NOT NULL AS completed`;

/** The day's progress, recorded as started (from the first page) if it had none. */
export async function startScheduledRun(db: SqlClient, day: string): Promise<ScheduledRunProgress> {
  await db.$executeRawUnsafe(`INSERT INTO scheduled_payout_runs (day) VALUES ($1::date) ON CONFLICT (day) DO NOTHING`, day);
  const row = await findScheduledRun(db, day);
  if (row === null) throw new Error(`scheduled run of ${day} vanished right after it was recorded`);
  return row;
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

/** Records the cursor after a finished page; a completed day keeps what it has. */
export async function saveScheduledRunCursor(db: SqlClient, day: string, resumeAfter: string): Promise<void> {
  await db.$executeRawUnsafe(
    `UPDATE scheduled_payout_runs SET resume_after = $2, updated_at = now() WHERE day = $1::date AND completed_at IS NULL`,
    day,
    resumeAfter,
  );
}

/** Marks the day complete (once: a second call changes nothing). */
export async function completeScheduledRun(db: SqlClient, day: string): Promise<void> {
  await db.$executeRawUnsafe(
    `UPDATE scheduled_payout_runs SET resume_after = NULL, completed_at = now(), updated_at = now() WHERE day = $1::date AND completed_at IS NULL`,
    day,
  );
}
