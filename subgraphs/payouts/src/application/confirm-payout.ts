// Applies what the PSP says about a payout (its answer to payouts.create, a webhook relayed by
// payments, or a re-check): only forward, one transition at a time, each PAID/FAILED with its
// event in the same transaction. A repeated or late report changes nothing.
import type { PspPayoutStatus, SqlClient } from '@clearhouse/shared';
import { FAILURE_CODE_REJECTED } from '../domain/failures.js';
import type { Payout } from '../domain/payout.js';
import { payoutFailedPayload, payoutPaidPayload } from '../domain/payout.js';
import { transitionPayout } from '../domain/payout-status.js';
import { payoutStatusFromPsp } from '../domain/psp-status.js';
import { lockPayout, lockPayoutByPspId, updatePayout } from '../persistence/payouts.js';
import type { PayoutsDeps } from './deps.js';
import { writePayoutEvent } from './events.js';

export interface PspPayoutReport {
  pspPayoutId: string;
  /** metadata.payoutId, when the PSP returned it. */
  payoutId: string | null;
  status: PspPayoutStatus;
  failureCode: string | null;
  failureMessage: string | null;
  /** When the PSP reported it (paidAt / failedAt). */
  at: Date;
}

export type ConfirmOutcome = 'changed' | 'unchanged' | 'ignored' | 'unknown';

async function lockReported(tx: SqlClient, report: PspPayoutReport): Promise<Payout | null> {
  const byId = report.payoutId === null ? null : await lockPayout(tx, report.payoutId);
  return byId ?? lockPayoutByPspId(tx, report.pspPayoutId);
}

export async function applyPspPayoutReport(deps: PayoutsDeps, tx: SqlClient, report: PspPayoutReport): Promise<ConfirmOutcome> {
  let payout = await lockReported(tx, report);
  if (payout === null) return 'unknown';
  if (payout.pspPayoutId !== null && payout.pspPayoutId !== report.pspPayoutId) {
    deps.logger.error({ payoutId: payout.id, pspPayoutId: report.pspPayoutId, recorded: payout.pspPayoutId }, 'PSP report names another PSP payout than the one recorded; ignored');
    return 'ignored';
  }
  const target = payoutStatusFromPsp(report.status);
  let changed = false;
  // The PSP has the payout, so it is at least PROCESSING (a webhook may overtake our own save).
  if (payout.status === 'PENDING') {
    payout = await updatePayout(tx, payout, { status: 'PROCESSING', pspPayoutId: report.pspPayoutId });
    changed = true;
  }
  if (target === 'PROCESSING') return changed ? 'changed' : 'unchanged';
  const transition = transitionPayout(payout.status, target);
  if (!transition.ok) {
    if (transition.code === 'ILLEGAL_TRANSITION') deps.logger.warn({ payoutId: payout.id, from: payout.status, to: target }, `PSP report ignored: ${transition.message}`);
    return changed ? 'changed' : transition.code === 'ALREADY_IN_STATE' ? 'unchanged' : 'ignored';
  }
  if (target === 'PAID') {
    const paid = await updatePayout(tx, payout, { status: 'PAID', paidAt: report.at });
    await writePayoutEvent(tx, { key: 'payout.paid@1', payload: payoutPaidPayload(paid, report.pspPayoutId, report.at) });
    deps.logger.info({ payoutId: paid.id, pspPayoutId: report.pspPayoutId }, 'payout paid');
    return 'changed';
  }
  const failureCode = report.failureCode ?? (report.status === 'canceled' ? 'canceled' : FAILURE_CODE_REJECTED);
  const failed = await updatePayout(tx, payout, { status: 'FAILED', failureCode, failureMessage: report.failureMessage, failedAt: report.at });
  await writePayoutEvent(tx, {
    key: 'payout.failed@1',
    payload: payoutFailedPayload(failed, { pspPayoutId: report.pspPayoutId, failureCode, failureMessage: report.failureMessage, failedAt: report.at }),
  });
  deps.logger.warn({ payoutId: failed.id, pspPayoutId: report.pspPayoutId, failureCode }, 'payout failed at the PSP');
  return 'changed';
}

/** The PSP refused to create the payout (a permanent 4xx): PENDING → FAILED with payout.failed. */
export async function failPendingPayout(deps: PayoutsDeps, tx: SqlClient, payoutId: string, failure: { failureCode: string; failureMessage: string | null }): Promise<ConfirmOutcome> {
  const payout = await lockPayout(tx, payoutId);
  if (payout === null) return 'unknown';
  const transition = transitionPayout(payout.status, 'FAILED');
  if (!transition.ok || payout.status !== 'PENDING') return 'unchanged';
  const failedAt = new Date();
  const failed = await updatePayout(tx, payout, { status: 'FAILED', failureCode: failure.failureCode, failureMessage: failure.failureMessage, failedAt });
  await writePayoutEvent(tx, { key: 'payout.failed@1', payload: payoutFailedPayload(failed, { pspPayoutId: null, ...failure, failedAt }) });
  deps.logger.warn({ payoutId, failureCode: failure.failureCode }, 'payout rejected by the PSP');
  return 'changed';
}
