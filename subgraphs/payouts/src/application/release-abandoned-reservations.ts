// The sweep of abandoned wallet reservations. requestPayout reserves in the wallet, then saves the
// payout; when the save fails it gives the amount back (compensate), but if the wallet cannot be
// reached then, or the process stops between the two steps, the hold would stay forever. This job
// asks the wallet for reservations still held RESERVATION_SWEEP_GRACE_MS after they were taken
// (far longer than any save) and releases, through the wallet's release route, each that has no
// payout.
//
// Never while its payout exists or could still be saved: under the payout id's lock (the one
// requestPayout's save takes) the sweep checks that no payout was saved and records the
// reservation as abandoned, which makes the save refuse for good (INVALID_STATE), and only then
// releases it. A run still holding its idempotency key is left alone (a courtesy: it may be a
// client's retry about to save on the held reservation); one that outlived its lock is not waited
// for, its save is refused. After the release the wallet answers RESERVATION_RELEASED to any
// retry with the key. A release that fails is retried by the next run (the hold is still listed).
//
// Each sweep also deletes the rows released more than `releasedRetentionMs` ago (the service
// passes IDEMPOTENCY_KEY_RETENTION_MS, at least 24 h). A released row's remaining work is to refuse
// the save of a run that reserved before the sweep and stalled since; a run holds its key for
// idempotencyLockTtlMs (a minute), so only a process paused for longer than the retention could
// still reach its save without the row. A retry with the key gets the key's stored INVALID_STATE
// while the key is kept, and after that RESERVATION_RELEASED from the wallet (which keeps released
// reservations), so it makes no payout either. Unreleased rows are kept however old: their
// release is still to come and they forbid their payout.
import { deleteInBatches } from '@clearhouse/shared';
import type { PayoutsDeps } from './deps.js';
import { payoutIdFor, REQUEST_PAYOUT_OPERATION } from './request-payout.js';
import type { HeldReservation } from '../clients/wallet.js';
import {
  deleteReleasedReservations, existingPayoutIds, insertAbandonedReservation, isReservationAbandoned, listLiveRunKeys, lockPayoutId, markReservationReleased,
} from '../persistence/abandoned-reservations.js';
import { findPayout } from '../persistence/payouts.js';

const PAGE_SIZE = 500;
const PAGES_MAX = 20;
/** More live requestPayout runs than this at once: the run is skipped rather than guessing. */
const LIVE_RUNS_MAX = 10_000;

export interface SweepSummary {
  /** Held reservations older than the grace period that were looked at. */
  examined: number;
  /** Of those, with a payout (in flight: released or consumed by its payout's outcome). */
  withPayout: number;
  /** Of those, whose request still holds its idempotency key. */
  live: number;
  /** Released by this run. */
  released: number;
  /** abandoned_reservations rows released more than the retention ago, deleted by this run. */
  deleted: number;
}

export interface SweepOptions {
  /** A held reservation without a payout is released once this old (RESERVATION_SWEEP_GRACE_MS). */
  graceMs: number;
  /** Released rows are deleted this long after their release (IDEMPOTENCY_KEY_RETENTION_MS). */
  releasedRetentionMs: number;
  /** Told of each reservation the wallet released (the service counts them on /metrics). */
  onReleased?: (reservation: HeldReservation) => void;
}

/** Short deletes (short locks); what is left goes at the next sweep. */
const DELETE_BATCHES = { batchSize: 1_000, batchesMax: 10 };

async function livePayoutIds(deps: PayoutsDeps): Promise<Set<string> | null> {
  const runs = await listLiveRunKeys(deps.db, REQUEST_PAYOUT_OPERATION, LIVE_RUNS_MAX + 1);
  if (runs.length > LIVE_RUNS_MAX) return null;
  return new Set(runs.map((run) => payoutIdFor(run.caller_id, run.key)));
}

/** Under the payout id's lock: false when its payout was saved; else it is recorded as abandoned. */
async function abandon(deps: PayoutsDeps, reservation: HeldReservation): Promise<boolean> {
  return deps.db.$transaction(async (tx) => {
    await lockPayoutId(tx, reservation.payoutId);
    if (await findPayout(tx, reservation.payoutId)) return false;
    await insertAbandonedReservation(tx, reservation);
    return true;
  });
}

async function sweepPage(deps: PayoutsDeps, reservations: readonly HeldReservation[], summary: SweepSummary, onReleased: SweepOptions['onReleased']): Promise<void> {
  const withPayout = await existingPayoutIds(deps.db, reservations.map((r) => r.payoutId));
  const live = await livePayoutIds(deps);
  if (live === null) throw new Error(`more than ${LIVE_RUNS_MAX} payout requests running at once; abandoned reservations are left for the next run`);
  for (const reservation of reservations) {
    summary.examined += 1;
    if (withPayout.has(reservation.payoutId)) {
      summary.withPayout += 1;
      continue;
    }
    // Already abandoned (an earlier release failed): release again, whatever the key's state.
    if (live.has(reservation.payoutId) && !(await isReservationAbandoned(deps.db, reservation.payoutId))) {
      summary.live += 1;
      continue;
    }
    if (!(await abandon(deps, reservation))) {
      summary.withPayout += 1;
      continue;
    }
    const released = await deps.wallet.release(reservation.payoutId);
    await markReservationReleased(deps.db, reservation.payoutId);
    if (released) {
      summary.released += 1;
      onReleased?.(reservation);
    }
    deps.logger.warn(
      { payoutId: reservation.payoutId, sellerId: reservation.sellerId, currency: reservation.currency, amountMinor: reservation.amountMinor.toString(), released },
      'wallet reservation without a payout released',
    );
  }
}

/** One sweep: at most PAGES_MAX pages of PAGE_SIZE held reservations, oldest first; then the retention of released rows. */
export async function releaseAbandonedReservations(deps: PayoutsDeps, options: SweepOptions): Promise<SweepSummary> {
  const summary: SweepSummary = { examined: 0, withPayout: 0, live: 0, released: 0, deleted: 0 };
  let after: string | null = null;
  for (let page = 0; page < PAGES_MAX; page += 1) {
    const { reservations, nextCursor } = await deps.wallet.listHeldReservations(options.graceMs, PAGE_SIZE, after);
    await sweepPage(deps, reservations, summary, options.onReleased);
    if (nextCursor === null) break;
    after = nextCursor;
  }
  summary.deleted = await deleteInBatches((limit) => deleteReleasedReservations(deps.db, options.releasedRetentionMs, limit), DELETE_BATCHES);
  if (summary.released > 0 || summary.live > 0 || summary.deleted > 0) deps.logger.info({ ...summary }, 'abandoned wallet reservations swept');
  return summary;
}
