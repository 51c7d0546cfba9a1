// Retention of the daily payout run's records: scheduled_payout_runs (a row per UTC day) and
// scheduled_payout_failures (per day, seller and currency). The service's housekeeping job (every
// CLEANUP_INTERVAL_MS, beside the idempotency keys' retention) deletes the days older than
// `retentionMs` (IDEMPOTENCY_KEY_RETENTION_MS, at least 24 h), in bounded batches, failures first.
//
// Never a day a run could still work on (scheduled-payouts.ts, runDueScheduledPayouts): today's,
// yesterday's (a run left incomplete is continued past midnight), the latest day that started,
// however old (resumed while incomplete until a later day is due; deleting it, even completed,
// could leave an older incomplete day as the latest), and a day a run holds (an operator's run of
// an older day). Its failures are kept with it. A superseded day (a later one started) is never
// resumed, so its record goes once past the retention, complete or not.
import { IDEMPOTENCY_KEY_RETENTION_MS_MIN, deleteInBatches, invariant } from '@clearhouse/shared';
import type { PayoutsDeps } from './deps.js';
import { oldestRunnableDay, utcDay } from './scheduled-payouts.js';
import { deleteScheduledFailuresBefore } from '../persistence/scheduled-failures.js';
import { deleteScheduledRunsBefore } from '../persistence/scheduled-runs.js';

const DAY_MS = 24 * 3_600_000;
/** Short deletes (short locks); what is left goes at the next pass. */
const DELETE_BATCHES = { batchSize: 1_000, batchesMax: 10 };

export interface ScheduledRunsRetentionSummary {
  runs: number;
  failures: number;
}

/** One pass: deletes the runs and failures of the days before the retention that no run can still work on. */
export async function deleteExpiredScheduledRuns(deps: Pick<PayoutsDeps, 'db' | 'logger'>, retentionMs: number, now: Date = new Date()): Promise<ScheduledRunsRetentionSummary> {
  invariant(Number.isInteger(retentionMs) && retentionMs >= IDEMPOTENCY_KEY_RETENTION_MS_MIN, `the scheduled runs' retention must be at least 24 h, got ${retentionMs} ms`);
  const today = utcDay(now);
  const yesterday = utcDay(new Date(now.getTime() - DAY_MS));
  // The days a run is refused (scheduled-payouts.ts): the same cutoff, so that no day a run may
  // still work on loses its record.
  const retentionCutoff = oldestRunnableDay(now, retentionMs);
  // Days before this one go (YYYY-MM-DD strings order as the days do); never yesterday or later.
  const beforeDay = retentionCutoff < yesterday ? retentionCutoff : yesterday;
  const failures = await deleteInBatches((limit) => deleteScheduledFailuresBefore(deps.db, beforeDay, today, limit), DELETE_BATCHES);
  const runs = await deleteInBatches((limit) => deleteScheduledRunsBefore(deps.db, beforeDay, today, limit), DELETE_BATCHES);
  if (runs > 0 || failures > 0) deps.logger.info({ runs, failures, before: beforeDay }, 'scheduled payout runs past their retention deleted');
  return { runs, failures };
}
