// The daily payout run: every seller whose available balance reaches the minimum is paid out in
// full, at most once per seller, currency and UTC day (idempotency key
// `scheduled:<sellerId>:<currency>:<YYYY-MM-DD>` under the scheduler's own caller).
//
// One run visits at most its page cap of the wallet's balances. The day's progress is kept in
// scheduled_payout_runs (persistence/scheduled-runs.ts): after each page the wallet's cursor, at
// the end the completion. A run stopped at its cap (or by a crash, or an unreachable wallet) is
// continued from that cursor by the scheduler's next tick (runDueScheduledPayouts), not within the
// same run, so that every run stays bounded and the scheduler's one-run-at-a-time and shutdown
// hold. A page redone after a crash between paying and saving its cursor pays nobody twice: the
// key is the same, so requestPayout replays the payout it made. A completed day is not run again.
import { invariant, isDomainError, isSupportedCurrency, systemCaller } from '@clearhouse/shared';
import { minimumPayoutMinor } from '../domain/rules.js';
import { completeScheduledRun, findScheduledRun, latestScheduledRun, saveScheduledRunCursor, startScheduledRun } from '../persistence/scheduled-runs.js';
import type { PayoutsDeps } from './deps.js';
import { requestPayout } from './request-payout.js';
import type { AvailableBalance } from '../clients/wallet.js';

export const SCHEDULER_CALLER = systemCaller('payouts-scheduler');
const PAGE_SIZE = 500;
const PAGES_MAX = 2_000;

export interface ScheduledRunSummary {
  day: string;
  requested: number;
  replayed: number;
  skipped: number;
  failed: number;
  /** False when the run stopped at its page cap with sellers left unvisited (logged with the cursor, stored for the next run). */
  complete: boolean;
  /** The day had completed before: this run visited nothing. */
  alreadyComplete: boolean;
}

/** Bounds of one run: at most pagesMax pages of pageSize balances (tests pass small ones). */
export interface ScheduledRunLimits {
  pageSize?: number;
  pagesMax?: number;
}

export function scheduledIdempotencyKey(sellerId: string, currency: string, day: string): string {
  return `scheduled:${sellerId}:${currency}:${day}`;
}

export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

const DAY_PATTERN = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

/** Pays the sellers of one page of balances; counts what happened to each. */
async function payPage(deps: PayoutsDeps, day: string, balances: readonly AvailableBalance[], summary: ScheduledRunSummary): Promise<void> {
  for (const balance of balances) {
    if (!isSupportedCurrency(balance.currency) || balance.availableMinor < minimumPayoutMinor(deps.config.minimumMajor, balance.currency)) {
      summary.skipped++;
      continue;
    }
    try {
      const result = await requestPayout(deps, SCHEDULER_CALLER, {
        idempotencyKey: scheduledIdempotencyKey(balance.sellerId, balance.currency, day),
        sellerId: balance.sellerId,
        currency: balance.currency,
        amountMinor: null,
      });
      if (result.replayed) summary.replayed++;
      else summary.requested++;
    } catch (error) {
      if (isDomainError(error)) {
        summary.skipped++;
        deps.logger.info({ sellerId: balance.sellerId, currency: balance.currency, code: error.code }, `scheduled payout skipped: ${error.message}`);
      } else {
        summary.failed++;
        deps.logger.error({ sellerId: balance.sellerId, currency: balance.currency, err: error }, 'scheduled payout failed');
      }
    }
  }
}

/** Runs the payout run of `day`, from where its last run stopped; a completed day is left alone. */
export async function runScheduledPayoutsOfDay(deps: PayoutsDeps, day: string, limits: ScheduledRunLimits = {}): Promise<ScheduledRunSummary> {
  invariant(DAY_PATTERN.test(day), `not a UTC day: ${day}`);
  const { pageSize = PAGE_SIZE, pagesMax = PAGES_MAX } = limits;
  const summary: ScheduledRunSummary = { day, requested: 0, replayed: 0, skipped: 0, failed: 0, complete: false, alreadyComplete: false };
  const progress = await startScheduledRun(deps.db, day);
  if (progress.completed) {
    deps.logger.info({ day }, 'scheduled payout run not started: the day completed before');
    return { ...summary, complete: true, alreadyComplete: true };
  }
  const resumedAfter = progress.resumeAfter;
  let after = resumedAfter;
  for (let page = 0; page < pagesMax; page++) {
    const { balances, nextCursor } = await deps.wallet.listAvailableBalances(1n, pageSize, after);
    await payPage(deps, day, balances, summary);
    if (nextCursor === null) {
      await completeScheduledRun(deps.db, day);
      summary.complete = true;
      break;
    }
    await saveScheduledRunCursor(deps.db, day, nextCursor);
    after = nextCursor;
  }
  if (summary.complete) deps.logger.info({ ...summary, resumedAfter }, 'scheduled payout run finished');
  else deps.logger.warn({ ...summary, pagesMax, resumedAfter, resumeAfter: after }, 'scheduled payout run stopped at its page cap: the next run of the day resumes after resumeAfter');
  return summary;
}

/** The run of the UTC day of `at` (operators, tests): resumed where it stopped; nothing once complete. */
export async function runScheduledPayouts(deps: PayoutsDeps, at: Date = new Date(), limits: ScheduledRunLimits = {}): Promise<ScheduledRunSummary> {
  return runScheduledPayoutsOfDay(deps, utcDay(at), limits);
}

/**
 * One scheduler tick (jobs/scheduler.ts): `dueDay` is today once its run time has passed, else
 * null. The latest day whose run started and did not complete is continued first, also after
 * midnight (a run capped or crashed late in the day); once a later day is due that day's run
 * supersedes it instead, since every run pays each seller's whole available balance. Otherwise
 * `dueDay` runs unless it completed. Null: nothing to do.
 */
export async function runDueScheduledPayouts(deps: PayoutsDeps, now: Date, dueDay: string | null, limits: ScheduledRunLimits = {}): Promise<ScheduledRunSummary | null> {
  const today = utcDay(now);
  invariant(dueDay === null || dueDay === today, `the due day ${dueDay} is not today (${today})`);
  const latest = await latestScheduledRun(deps.db, today);
  if (latest !== null && !latest.completed) {
    if (dueDay === null || latest.day === dueDay) return runScheduledPayoutsOfDay(deps, latest.day, limits);
    deps.logger.warn({ day: latest.day, resumeAfter: latest.resumeAfter, dueDay }, `scheduled payout run of ${latest.day} left incomplete: superseded by the run of ${dueDay}`);
  }
  if (dueDay === null) return null;
  if ((await findScheduledRun(deps.db, dueDay))?.completed) return null;
  return runScheduledPayoutsOfDay(deps, dueDay, limits);
}
