// The daily payout run: every seller whose available balance reaches the minimum is paid out in
// full, at most once per seller, currency and UTC day (idempotency key
// `scheduled:<sellerId>:<currency>:<YYYY-MM-DD>` under the scheduler's own caller).
//
// One run visits at most its page cap of the wallet's balances. The day's progress is kept in
// scheduled_payout_runs (persistence/scheduled-runs.ts): after each page the wallet's cursor, then
// that the pages are done, at the end the completion. A run stopped at its cap (or by a crash, or
// an unreachable wallet) is continued from that cursor by the scheduler's next tick
// (runDueScheduledPayouts), not within the same run, so that every run stays bounded and the
// scheduler's one-run-at-a-time and shutdown hold. A page redone after a crash between paying and
// saving its cursor pays nobody twice: the key is the same, so requestPayout replays the payout it
// made. A completed day is not run again.
//
// A seller whose payout fails for an unexpected reason (the wallet or the database, not a domain
// refusal) is recorded in scheduled_payout_failures (persistence/scheduled-failures.ts) and retried
// by the later runs of the day under the same key, so a payout that went through after all is
// replayed, not made twice: at most attemptsMax attempts, the next one retryDelayMs after a
// failure, doubled each time. The day completes once its pages are done and no failure has
// attempts left; failures that made them all are named in a warning.
//
// Runs of one day exclude each other across processes: a run claims the day's row for leaseMs
// (renewed as it goes) or, finding it claimed, visits nothing (claimedElsewhere). Its progress is
// written only under its claim; a run that stalled past its lease and was taken over notices at its
// next write or renewal and stops, so the stored cursor never moves back.
//
// A day older than the retention (IDEMPOTENCY_KEY_RETENTION_MS) is never run: its sellers' keys
// are deleted by then, and its record with them (scheduled-runs-retention.ts), so its run would
// start afresh and could pay them again under those keys. An operator's run of such a day is
// refused (ScheduledDayExpiredError) before anything is written; the scheduler does not resume one.
import { DomainError, invariant, isDomainError, isSupportedCurrency, systemCaller } from '@clearhouse/shared';
import { minimumPayoutMinor } from '../domain/rules.js';
import {
  countRetryableFailures, clearScheduledFailure, dueScheduledFailures, exhaustedScheduledFailures, recordScheduledFailure,
} from '../persistence/scheduled-failures.js';
import {
  claimScheduledRun, completeScheduledRun, findScheduledRun, latestScheduledRun, markScheduledRunPagesDone, releaseScheduledRunClaim,
  renewScheduledRunClaim, saveScheduledRunCursor, type ClaimedScheduledRun,
} from '../persistence/scheduled-runs.js';
import type { PayoutsDeps } from './deps.js';
import { requestPayout } from './request-payout.js';
import type { AvailableBalance } from '../clients/wallet.js';

export const SCHEDULER_CALLER = systemCaller('payouts-scheduler');
const PAGE_SIZE = 500;
const PAGES_MAX = 2_000;
/** Attempts of one seller's payout in one day, the first included. */
const ATTEMPTS_MAX = 5;
/** After a failed attempt, the next is due this much later, doubled per attempt made (1, 2, 4, 8 min). */
const RETRY_DELAY_MS = 60_000;
/**
 * How long a run's claim on its day lasts unless renewed: renewed after every page and whenever a
 * third of it passed between two sellers, so only a run stalled this long (or dead) is taken over.
 * Far longer than one seller's payout request (bounded by WALLET_TIMEOUT_MS and the database).
 */
const LEASE_MS = 5 * 60_000;
/** Failures named in the warning of a day completed with failures out of attempts. */
const EXHAUSTED_LOGGED_MAX = 100;

export interface ScheduledRunSummary {
  day: string;
  requested: number;
  replayed: number;
  skipped: number;
  failed: number;
  /** Sellers of earlier failures retried by this run (their outcomes are counted above too). */
  retried: number;
  /**
   * False when the run stopped at its page cap with sellers left unvisited (logged with the
   * cursor, stored for the next run), or with failures left to retry.
   */
  complete: boolean;
  /** The day had completed before: this run visited nothing. */
  alreadyComplete: boolean;
  /**
   * Another process's run holds the day: this run visited nothing, or (taken over after its claim
   * ran out) stopped where it was without writing anything more.
   */
  claimedElsewhere: boolean;
}

/** Bounds of one run (tests pass small ones). */
export interface ScheduledRunLimits {
  /** At most pagesMax pages of pageSize balances; at most pageSize failures retried. */
  pageSize?: number;
  pagesMax?: number;
  attemptsMax?: number;
  retryDelayMs?: number;
  leaseMs?: number;
}

export function scheduledIdempotencyKey(sellerId: string, currency: string, day: string): string {
  return `scheduled:${sellerId}:${currency}:${day}`;
}

export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

const DAY_PATTERN = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/;

/**
 * The oldest UTC day a run may work on at `now`: every earlier day ended before the retention's
 * start, so every key made for it on or after its day may be deleted, and housekeeping deletes its
 * record (scheduled-runs-retention.ts deletes exactly the days before this one). From this day on
 * the record is kept, so a run of the day resumes it rather than starting it afresh.
 */
export function oldestRunnableDay(now: Date, retentionMs: number): string {
  invariant(Number.isInteger(retentionMs) && retentionMs > 0, `the retention must be a positive whole number of ms, got ${retentionMs}`);
  return utcDay(new Date(now.getTime() - retentionMs));
}

/** A run of a day older than the retention of its keys: refused, nothing written. */
export class ScheduledDayExpiredError extends DomainError {
  override readonly name = 'ScheduledDayExpiredError';

  constructor(readonly day: string, readonly oldestRunnableDay: string) {
    super(
      'INVALID_INPUT',
      `the scheduled payout run of ${day} is refused: days before ${oldestRunnableDay} are past IDEMPOTENCY_KEY_RETENTION_MS, their payouts' idempotency keys may be deleted, and a run could pay their sellers again`,
      { field: ['day'] },
    );
  }
}

function assertRunnable(deps: PayoutsDeps, day: string, now: Date): void {
  const oldest = oldestRunnableDay(now, deps.config.idempotencyKeyRetentionMs);
  if (day < oldest) throw new ScheduledDayExpiredError(day, oldest);
}

type Resolved = Required<ScheduledRunLimits>;

function resolveLimits(limits: ScheduledRunLimits): Resolved {
  const resolved = {
    pageSize: limits.pageSize ?? PAGE_SIZE,
    pagesMax: limits.pagesMax ?? PAGES_MAX,
    attemptsMax: limits.attemptsMax ?? ATTEMPTS_MAX,
    retryDelayMs: limits.retryDelayMs ?? RETRY_DELAY_MS,
    leaseMs: limits.leaseMs ?? LEASE_MS,
  };
  invariant(Number.isInteger(resolved.attemptsMax) && resolved.attemptsMax >= 1, `attemptsMax must be >= 1, got ${resolved.attemptsMax}`);
  return resolved;
}

/** The run's claim on its day: renewed once a third of the lease passed; false once another run took the day over. */
class DayClaim {
  private renewedAtMs = Date.now();
  lost = false;

  constructor(private readonly deps: PayoutsDeps, readonly run: ClaimedScheduledRun, private readonly leaseMs: number) {}

  /** Before each seller: still ours? */
  async keep(): Promise<boolean> {
    if (this.lost) return false;
    if (Date.now() - this.renewedAtMs < this.leaseMs / 3) return true;
    return this.written(await renewScheduledRunClaim(this.deps.db, this.run, this.leaseMs));
  }

  /** The outcome of a write under the claim (which also renewed the lease when it succeeded). */
  written(ok: boolean): boolean {
    if (ok) this.renewedAtMs = Date.now();
    else this.lost = true;
    return ok;
  }
}

type Outcome = 'requested' | 'replayed' | 'skipped' | 'failed';

/** A refusal that says "try again shortly" is a failure to retry, not a reason to skip the seller. */
function retryableRefusal(error: unknown): boolean {
  return isDomainError(error) && error.code === 'IDEMPOTENCY_KEY_IN_USE';
}

/** Requests one seller's payout of the day; records an unexpected failure for the later runs of the day. */
async function payOne(deps: PayoutsDeps, day: string, seller: { sellerId: string; currency: string }, limits: Resolved): Promise<Outcome> {
  try {
    const result = await requestPayout(deps, SCHEDULER_CALLER, {
      idempotencyKey: scheduledIdempotencyKey(seller.sellerId, seller.currency, day),
      sellerId: seller.sellerId,
      currency: seller.currency,
      amountMinor: null,
    });
    return result.replayed ? 'replayed' : 'requested';
  } catch (error) {
    if (isDomainError(error) && !retryableRefusal(error)) {
      deps.logger.info({ sellerId: seller.sellerId, currency: seller.currency, code: error.code }, `scheduled payout skipped: ${error.message}`);
      return 'skipped';
    }
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    const attempts = await recordScheduledFailure(deps.db, { day, sellerId: seller.sellerId, currency: seller.currency, error: message, retryDelayMs: limits.retryDelayMs });
    deps.logger.error({ sellerId: seller.sellerId, currency: seller.currency, day, attempts, attemptsMax: limits.attemptsMax, err: error }, 'scheduled payout failed');
    return 'failed';
  }
}

/** Retries the day's due failures (at most a page of them); false: the claim was lost. */
async function retryFailures(deps: PayoutsDeps, claim: DayClaim, summary: ScheduledRunSummary, limits: Resolved): Promise<boolean> {
  const due = await dueScheduledFailures(deps.db, summary.day, limits.attemptsMax, limits.pageSize);
  for (const failure of due) {
    if (!(await claim.keep())) return false;
    const outcome = await payOne(deps, summary.day, failure, limits);
    summary.retried++;
    summary[outcome]++;
    if (outcome !== 'failed') await clearScheduledFailure(deps.db, summary.day, failure.sellerId, failure.currency);
  }
  return true;
}

/** Pays the sellers of one page of balances; false: the claim was lost (the page's rest not visited). */
async function payPage(deps: PayoutsDeps, claim: DayClaim, balances: readonly AvailableBalance[], summary: ScheduledRunSummary, limits: Resolved): Promise<boolean> {
  for (const balance of balances) {
    if (!isSupportedCurrency(balance.currency) || balance.availableMinor < minimumPayoutMinor(deps.config.minimumMajor, balance.currency)) {
      summary.skipped++;
      continue;
    }
    if (!(await claim.keep())) return false;
    summary[await payOne(deps, summary.day, balance, limits)]++;
  }
  return true;
}

/** Walks the pages from the stored cursor; answers the cursor it stopped after, null once the pages are done. */
async function walkPages(deps: PayoutsDeps, claim: DayClaim, summary: ScheduledRunSummary, limits: Resolved): Promise<{ pagesDone: boolean; after: string | null }> {
  let after = claim.run.resumeAfter;
  for (let page = 0; page < limits.pagesMax; page++) {
    const { balances, nextCursor } = await deps.wallet.listAvailableBalances(1n, limits.pageSize, after);
    if (!(await payPage(deps, claim, balances, summary, limits))) break;
    if (nextCursor === null) {
      if (claim.written(await markScheduledRunPagesDone(deps.db, claim.run, limits.leaseMs))) return { pagesDone: true, after: null };
      break;
    }
    if (!claim.written(await saveScheduledRunCursor(deps.db, claim.run, nextCursor, limits.leaseMs))) break;
    after = nextCursor;
  }
  return { pagesDone: false, after };
}

/** The pages are done: completes the day unless a failure has attempts left; names the failures out of attempts. */
async function completeIfSettled(deps: PayoutsDeps, claim: DayClaim, summary: ScheduledRunSummary, limits: Resolved): Promise<void> {
  const retryable = await countRetryableFailures(deps.db, summary.day, limits.attemptsMax);
  if (retryable > 0) {
    deps.logger.info({ ...summary, retryable, attemptsMax: limits.attemptsMax }, 'scheduled payout run: pages done, failed payouts left to retry at the next runs of the day');
    return;
  }
  if (!claim.written(await completeScheduledRun(deps.db, claim.run))) return;
  summary.complete = true;
  const exhausted = await exhaustedScheduledFailures(deps.db, summary.day, limits.attemptsMax, EXHAUSTED_LOGGED_MAX);
  if (exhausted.count > 0) {
    deps.logger.warn(
      { day: summary.day, attemptsMax: limits.attemptsMax, exhaustedCount: exhausted.count, exhausted: exhausted.failures },
      `scheduled payout run of ${summary.day} completed with ${exhausted.count} seller(s) not paid: their payouts failed ${limits.attemptsMax} times (scheduled_payout_failures)`,
    );
  }
}

/**
 * Runs the payout run of `day`, from where its last run stopped; a completed day is left alone, a
 * day another run holds too. A day older than the retention at `now` is refused
 * (ScheduledDayExpiredError) before anything is written.
 */
export async function runScheduledPayoutsOfDay(deps: PayoutsDeps, day: string, limits: ScheduledRunLimits = {}, now: Date = new Date()): Promise<ScheduledRunSummary> {
  invariant(DAY_PATTERN.test(day), `not a UTC day: ${day}`);
  assertRunnable(deps, day, now);
  const resolved = resolveLimits(limits);
  const summary: ScheduledRunSummary = { day, requested: 0, replayed: 0, skipped: 0, failed: 0, retried: 0, complete: false, alreadyComplete: false, claimedElsewhere: false };
  const claimed = await claimScheduledRun(deps.db, day, resolved.leaseMs);
  if (claimed.kind === 'completed') {
    deps.logger.info({ day }, 'scheduled payout run not started: the day completed before');
    return { ...summary, complete: true, alreadyComplete: true };
  }
  if (claimed.kind === 'held') {
    deps.logger.info({ day, claimedUntil: claimed.claimedUntil }, 'scheduled payout run not started: another run holds the day');
    return { ...summary, claimedElsewhere: true };
  }
  const claim = new DayClaim(deps, claimed.run, resolved.leaseMs);
  const resumedAfter = claimed.run.resumeAfter;
  let pages = { pagesDone: claimed.run.pagesDone, after: resumedAfter };
  try {
    if (await retryFailures(deps, claim, summary, resolved)) {
      if (!pages.pagesDone) pages = await walkPages(deps, claim, summary, resolved);
      if (pages.pagesDone && !claim.lost) await completeIfSettled(deps, claim, summary, resolved);
    }
  } finally {
    if (!claim.lost && !summary.complete) await releaseScheduledRunClaim(deps.db, claim.run);
  }
  if (claim.lost) {
    summary.claimedElsewhere = true;
    deps.logger.warn({ ...summary, claim: claim.run.claim, resumedAfter }, 'scheduled payout run stopped: another run took the day over after this run\'s claim ran out');
  } else if (summary.complete) deps.logger.info({ ...summary, resumedAfter }, 'scheduled payout run finished');
  else if (!pages.pagesDone) deps.logger.warn({ ...summary, pagesMax: resolved.pagesMax, resumedAfter, resumeAfter: pages.after }, 'scheduled payout run stopped at its page cap: the next run of the day resumes after resumeAfter');
  return summary;
}

/**
 * The run of the UTC day of `at` (operators, tests): resumed where it stopped; nothing once
 * complete; refused (ScheduledDayExpiredError) when the day is older than the retention now.
 */
export async function runScheduledPayouts(deps: PayoutsDeps, at: Date = new Date(), limits: ScheduledRunLimits = {}): Promise<ScheduledRunSummary> {
  return runScheduledPayoutsOfDay(deps, utcDay(at), limits);
}

/**
 * One scheduler tick (jobs/scheduler.ts): `dueDay` is today once its run time has passed, else
 * null. The latest day whose run started and did not complete is continued first, also after
 * midnight (a run capped or crashed late in the day, or failures of the day left to retry); once a
 * later day is due that day's run supersedes it instead, since every run pays each seller's whole
 * available balance: the old day's unvisited sellers and its failures left to retry are paid by
 * the new day's run under the new day's keys (an old-day reservation that went through without
 * its payout is given back by the sweep of abandoned reservations, and paid the day after).
 * A latest day older than the retention (the service was down that long) is not resumed either:
 * it is left incomplete like a superseded day. Otherwise `dueDay` runs unless it completed. Null:
 * nothing to do.
 */
export async function runDueScheduledPayouts(deps: PayoutsDeps, now: Date, dueDay: string | null, limits: ScheduledRunLimits = {}): Promise<ScheduledRunSummary | null> {
  const today = utcDay(now);
  invariant(dueDay === null || dueDay === today, `the due day ${dueDay} is not today (${today})`);
  const latest = await latestScheduledRun(deps.db, today);
  if (latest !== null && !latest.completed) {
    const oldest = oldestRunnableDay(now, deps.config.idempotencyKeyRetentionMs);
    const expired = latest.day < oldest;
    if (!expired && (dueDay === null || latest.day === dueDay)) return runScheduledPayoutsOfDay(deps, latest.day, limits, now);
    const failuresLeft = await countRetryableFailures(deps.db, latest.day, resolveLimits(limits).attemptsMax);
    deps.logger.warn(
      { day: latest.day, resumeAfter: latest.resumeAfter, pagesDone: latest.pagesDone, failuresLeft, dueDay, oldestRunnableDay: oldest },
      expired
        ? `scheduled payout run of ${latest.day} left incomplete: older than the retention of its idempotency keys, never resumed`
        : `scheduled payout run of ${latest.day} left incomplete: superseded by the run of ${dueDay}`,
    );
  }
  if (dueDay === null) return null;
  if ((await findScheduledRun(deps.db, dueDay))?.completed) return null;
  return runScheduledPayoutsOfDay(deps, dueDay, limits, now);
}
