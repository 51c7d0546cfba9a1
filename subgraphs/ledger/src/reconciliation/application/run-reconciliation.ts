// The reconciliation of one UTC day: read the PSP's lines (all or nothing), load the ledger
// side, match (domain/rules.ts), carry out the automatic fixes, record the lines, the
// discrepancies and the run. Idempotent per day: a rerun updates the same run row (a failed
// rerun of a day that ever completed keeps the completed result and records the failure in
// `error`), books nothing twice (fee references derive from the balance transaction id) and
// records each discrepancy once per (day, kind, subject, pspReference). The ledger changes only
// through explicit postings (psp_fee_booked).
// An attempt finishes only the attempt it claimed: one taken over as stale (it was slow, not dead)
// records nothing when it finishes late and learns so (RunSupersededError, or its own failure).
// What an attempt records — its PSP lines, its discrepancies and its result — is written in one
// transaction under that check, so the day's lines are always those of the recorded attempt. Its
// side effects (fee postings, replays through payments) cannot be undone: it checks that it is
// still the current attempt before starting them, and each is idempotent. Fee postings are written
// under the run row held FOR SHARE (lockAttemptCurrent): a newer attempt claims the run only after
// they commit, so its ledger load sees every fee an older attempt booked, and one for a line it
// does not have is a finding (psp_fee_booked.missing_at_psp). Replays stay outside any database
// transaction (they call payments); what they cause is posted from the PSP's own state.
import type { Logger, TransactionalDb } from '@clearhouse/shared';
import { DomainError } from '@clearhouse/shared';
import { postPspFeeBooked, type JournalTransactionDraft } from '../../domain/index.js';
import { isTransactionConflict, POST_ATTEMPTS_MAX, postTransactionsInTx, type PostOutcome } from '../../application/post-transaction.js';
import type { PaymentReplayer } from '../clients/payments-replay.js';
import { utcDayOf, utcDayRange } from '../domain/day.js';
import { matchDay, type PspFeeSchedule } from '../domain/rules.js';
import type { FeeBooking, Finding, UtcDay } from '../domain/types.js';
import type { PspDayLoader } from '../ingestion/sources.js';
import {
  assertAttemptCurrent,
  claimRun,
  failRun,
  loadLedgerForDay,
  lockAttemptCurrent,
  recordCompletedAttempt,
  RunSupersededError,
  type ClaimedAttempt,
  type DiscrepancyRow,
  type RecordedFinding,
  type RunRow,
} from '../persistence/reconciliation-store.js';

export interface ReconciliationDeps {
  /** Transactional: an attempt's lines, discrepancies and result are recorded in one transaction. */
  readonly db: TransactionalDb;
  readonly logger: Logger;
  /** null: missed payments and refunds cannot be replayed here (they stay MANUAL_REVIEW). */
  readonly replayer: PaymentReplayer | null;
  readonly feeSchedule: PspFeeSchedule;
  readonly boundaryGraceMs: number;
  readonly hotAccountShards: number;
  /** A RUNNING attempt older than this may be taken over (its process died). */
  readonly runStaleAfterMs: number;
}

export type ProgressEvent =
  | { readonly phase: 'ingesting'; readonly fetched?: number }
  | { readonly phase: 'ingested'; readonly lines: number }
  | { readonly phase: 'matched'; readonly matched: number; readonly findings: number; readonly feeBookings: number }
  | { readonly phase: 'fixing'; readonly done: number; readonly total: number }
  | { readonly phase: 'recorded'; readonly discrepancies: number };

export interface AutomaticFix {
  readonly type: 'FEE_BOOKED' | 'PAYMENT_REPLAYED' | 'REFUND_RESYNCED';
  readonly pspReference: string;
  readonly ledgerReference: string | null;
  readonly currency: string;
  readonly amountMinor: string;
  readonly detail: string;
}

export interface RunResult {
  readonly run: RunRow;
  readonly discrepancies: DiscrepancyRow[];
  readonly fixes: AutomaticFix[];
}

/** The PSP day could not be read or is malformed; nothing was ingested. */
export class IngestionError extends Error {
  override readonly name = 'IngestionError';
}

export function assertReconcilableDay(day: string, now: Date = new Date()): void {
  if (utcDayRange(day) === undefined) throw new DomainError('INVALID_INPUT', `date must be a UTC day YYYY-MM-DD, got ${JSON.stringify(day.slice(0, 20))}`, { field: ['input', 'date'] });
  if (day > utcDayOf(now)) throw new DomainError('INVALID_INPUT', `${day} is in the future`, { field: ['input', 'date'] });
}

const SUCCEEDED_OR_LATER = new Set(['SUCCEEDED', 'PARTIALLY_REFUNDED', 'REFUNDED', 'DISPUTED']);

async function applyReplay(deps: ReconciliationDeps, finding: Finding, paymentIntentId: string): Promise<{ recorded: RecordedFinding; fix?: AutomaticFix }> {
  const detail = { paymentIntentId };
  if (deps.replayer === null) {
    return { recorded: { ...finding, status: 'OPEN', note: `${finding.note}; no payments replay configured`, detail } };
  }
  const outcome = await deps.replayer.replay(paymentIntentId);
  if (outcome.kind === 'replayed' && SUCCEEDED_OR_LATER.has(outcome.status)) {
    const note = `${finding.note}; auto-fixed: replayed from the PSP's state through payments (payment ${outcome.paymentId} ${outcome.changed ? 'moved to' : 'already'} ${outcome.status}); the ledger and wallet follow through payment.succeeded`;
    return {
      recorded: { ...finding, category: 'AUTO_FIXED', status: 'RESOLVED', rule: `${finding.rule}.replayed`, note, detail: { ...detail, paymentId: outcome.paymentId, paymentStatus: outcome.status } },
      fix: {
        type: 'PAYMENT_REPLAYED',
        pspReference: paymentIntentId,
        ledgerReference: `payment_succeeded:${outcome.paymentId}`,
        currency: finding.currency ?? '',
        amountMinor: (finding.actualMinor ?? 0n).toString(),
        detail: `payment ${outcome.paymentId} ${outcome.status}`,
      },
    };
  }
  if (outcome.kind === 'unknown') {
    return { recorded: { ...finding, category: 'UNCLASSIFIED', status: 'OPEN', note: `${finding.note}; payments does not know it (${outcome.reason}): not a Clearhouse payment?`, detail } };
  }
  const reason = outcome.kind === 'failed' ? outcome.reason : `payment ${outcome.paymentId} is ${outcome.status} after the replay`;
  return { recorded: { ...finding, status: 'OPEN', note: `${finding.note}; replay did not settle it: ${reason}`, detail } };
}

/**
 * A refund_failure line without its refund_reversed: payments re-reads the refund from the PSP
 * and reverses it if it had succeeded (refund.reversed@1, which the ledger posts). AUTO_FIXED
 * only when payments reports the refund reversed.
 */
async function applyRefundResync(deps: ReconciliationDeps, finding: Finding, pspRefundId: string): Promise<{ recorded: RecordedFinding; fix?: AutomaticFix }> {
  const detail = { pspRefundId };
  if (deps.replayer === null) {
    return { recorded: { ...finding, status: 'OPEN', note: `${finding.note}; no payments replay configured`, detail } };
  }
  const outcome = await deps.replayer.resyncRefund(pspRefundId);
  if (outcome.kind === 'resynced' && outcome.reversed) {
    const ledgerReference = `refund_reversed:${outcome.refundId}`;
    const note = `${finding.note}; auto-fixed: payments re-synced the refund from the PSP (refund ${outcome.refundId} ${outcome.changed ? 'moved to' : 'already'} ${outcome.status}); the ledger follows through refund.reversed (${ledgerReference})`;
    return {
      recorded: { ...finding, category: 'AUTO_FIXED', status: 'RESOLVED', rule: `${finding.rule}.resynced`, note, detail: { ...detail, refundId: outcome.refundId, refundStatus: outcome.status } },
      fix: {
        type: 'REFUND_RESYNCED',
        pspReference: pspRefundId,
        ledgerReference,
        currency: finding.currency ?? '',
        amountMinor: (finding.actualMinor ?? 0n).toString(),
        detail: `refund ${outcome.refundId} ${outcome.status}`,
      },
    };
  }
  if (outcome.kind === 'unknown') {
    return { recorded: { ...finding, category: 'UNCLASSIFIED', status: 'OPEN', note: `${finding.note}; payments does not know it (${outcome.reason}): not a Clearhouse refund?`, detail } };
  }
  const reason = outcome.kind === 'failed' ? outcome.reason : `refund ${outcome.refundId} is ${outcome.status} after the re-sync and was not reversed`;
  return { recorded: { ...finding, status: 'OPEN', note: `${finding.note}; re-sync did not settle it: ${reason}`, detail: outcome.kind === 'failed' ? detail : { ...detail, refundId: outcome.refundId } } };
}

/** Fee postings per transaction: one set-based statement, written while the run row is held FOR SHARE. */
const FEE_BOOKING_BATCH_SIZE = 100;
const FEE_BOOKING_TIMEOUT_MS = 30_000;
const FEE_BOOKING_RETRY_DELAY_MS_BASE = 5;

function feeDraft(booking: FeeBooking): JournalTransactionDraft {
  const result = postPspFeeBooked(booking);
  if (result.kind !== 'post') throw new Error(`psp fee ${booking.balanceTransactionId} cannot be posted: ${result.kind === 'rejected' ? result.error.message : result.reason}`);
  return result.transaction;
}

/**
 * Posts one batch of fees while the attempt is still current, and keeps it current until they
 * commit (lockAttemptCurrent). Serialization failures and deadlocks retry the whole batch, bounded.
 */
async function bookFeeBatch(deps: ReconciliationDeps, attempt: ClaimedAttempt, drafts: readonly JournalTransactionDraft[]): Promise<PostOutcome[]> {
  for (let tryNumber = 1; ; tryNumber++) {
    try {
      return await deps.db.$transaction(
        async (tx) => {
          await lockAttemptCurrent(tx, attempt);
          return postTransactionsInTx(tx, drafts, { hotAccountShards: deps.hotAccountShards });
        },
        { timeout: FEE_BOOKING_TIMEOUT_MS },
      );
    } catch (error) {
      if (tryNumber >= POST_ATTEMPTS_MAX || !isTransactionConflict(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, FEE_BOOKING_RETRY_DELAY_MS_BASE * 2 ** (tryNumber - 1) * (0.5 + Math.random())));
    }
  }
}

/** Books the PSP fees matching found unbooked; a fee already booked (same reference) is not a fix. */
async function bookFees(deps: ReconciliationDeps, attempt: ClaimedAttempt, bookings: readonly FeeBooking[], onProgress: (done: number) => void): Promise<AutomaticFix[]> {
  const fixes: AutomaticFix[] = [];
  for (let start = 0; start < bookings.length; start += FEE_BOOKING_BATCH_SIZE) {
    const batch = bookings.slice(start, start + FEE_BOOKING_BATCH_SIZE);
    const drafts = batch.map(feeDraft);
    const outcomes = await bookFeeBatch(deps, attempt, drafts);
    outcomes.forEach((outcome, index) => {
      const booking = batch[index]!;
      if (outcome.status !== 'posted') return;
      fixes.push({
        type: 'FEE_BOOKED',
        pspReference: booking.balanceTransactionId,
        ledgerReference: drafts[index]!.reference,
        currency: booking.currency,
        amountMinor: booking.feeMinor.toString(),
        detail: `DR psp_fee_expense / CR psp_receivable for ${booking.sourceId}`,
      });
    });
    onProgress(start + batch.length);
  }
  return fixes;
}

function summarize(findings: readonly RecordedFinding[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const finding of findings) {
    counts[`kind.${finding.kind}`] = (counts[`kind.${finding.kind}`] ?? 0) + 1;
    counts[`category.${finding.category}`] = (counts[`category.${finding.category}`] ?? 0) + 1;
  }
  return counts;
}

export async function runReconciliation(deps: ReconciliationDeps, day: UtcDay, loader: PspDayLoader, onProgress: (event: ProgressEvent) => void = () => undefined): Promise<RunResult> {
  assertReconcilableDay(day);
  const range = utcDayRange(day)!;
  const run = await claimRun(deps.db, day, loader.source, deps.runStaleAfterMs);
  deps.logger.info({ day, source: loader.source, runId: run.id, attempt: run.attempts }, 'reconciliation started');
  try {
    onProgress({ phase: 'ingesting' });
    let lines;
    try {
      lines = await loader.load(day, (fetched) => onProgress({ phase: 'ingesting', fetched }));
    } catch (error) {
      throw new IngestionError(`${loader.description}: ${(error as Error).message}`, { cause: error });
    }
    onProgress({ phase: 'ingested', lines: lines.length });
    // A slow load may have been taken over meanwhile: stop before booking or replaying anything.
    await assertAttemptCurrent(deps.db, run);

    const ledger = await loadLedgerForDay(deps.db, lines, range.start, range.end);
    const match = matchDay(lines, ledger, { dayStart: range.start, dayEnd: range.end, feeSchedule: deps.feeSchedule, boundaryGraceMs: deps.boundaryGraceMs });
    onProgress({ phase: 'matched', matched: match.matchedCount, findings: match.findings.length, feeBookings: match.feeBookings.length });

    const total = match.feeBookings.length + match.findings.length;
    const fixes = await bookFees(deps, run, match.feeBookings, (done) => onProgress({ phase: 'fixing', done, total }));
    const recorded: RecordedFinding[] = [];
    for (const [index, finding] of match.findings.entries()) {
      if (finding.autoFix !== undefined) {
        const applied =
          finding.autoFix.type === 'REPLAY_PAYMENT' ? await applyReplay(deps, finding, finding.autoFix.paymentIntentId) : await applyRefundResync(deps, finding, finding.autoFix.pspRefundId);
        recorded.push(applied.recorded);
        if (applied.fix) fixes.push(applied.fix);
      } else {
        recorded.push({ ...finding, status: 'OPEN', detail: {} });
      }
      onProgress({ phase: 'fixing', done: match.feeBookings.length + index + 1, total });
    }
    const report = {
      source: loader.description,
      lines: lines.length,
      matched: match.matchedCount,
      feesBooked: fixes.filter((fix) => fix.type === 'FEE_BOOKED').length,
      paymentsReplayed: fixes.filter((fix) => fix.type === 'PAYMENT_REPLAYED').length,
      refundsResynced: fixes.filter((fix) => fix.type === 'REFUND_RESYNCED').length,
      found: summarize(recorded),
      fixes: fixes.map((fix) => ({ ...fix })),
    };
    const { run: finished, discrepancies } = await recordCompletedAttempt(deps.db, run, { lines, findings: recorded, matchedCount: match.matchedCount, report });
    onProgress({ phase: 'recorded', discrepancies: discrepancies.length });
    deps.logger.info({ day, runId: run.id, lines: lines.length, matched: match.matchedCount, found: recorded.length, fixes: fixes.length }, 'reconciliation completed');
    return { run: finished, discrepancies, fixes };
  } catch (error) {
    if (error instanceof RunSupersededError) {
      deps.logger.warn({ err: error, day, runId: run.id, attempt: run.attempts }, 'reconciliation attempt superseded; its result was not recorded');
      throw error;
    }
    const failed = await failRun(deps.db, run, (error as Error).message).catch((finishError: unknown) => {
      if (finishError instanceof RunSupersededError) {
        deps.logger.warn({ err: finishError, day, runId: run.id, attempt: run.attempts }, 'reconciliation attempt superseded; its failure was not recorded');
      } else {
        deps.logger.error({ err: finishError, runId: run.id }, 'could not record the failed reconciliation run');
      }
      return undefined;
    });
    deps.logger.error({ err: error, day, runId: run.id, keptCompletedResult: failed?.status === 'COMPLETED' }, 'reconciliation failed');
    throw error;
  }
}
