// The scheduled re-check: missed webhooks happen. PROCESSING payouts not changed for a while are
// retrieved from the PSP and brought up to date; PENDING payouts whose execution never finished
// (the message went to the dead-letter queue, say) are executed again with the same PSP key.
import { findPayout, listStalePayouts, touchPayout } from '../persistence/payouts.js';
import { callPsp } from '../psp/executor.js';
import { applyPspPayoutReport } from './confirm-payout.js';
import { ownTransaction, type PayoutsDeps } from './deps.js';
import { executePayout } from './execute-payout.js';

export interface RecheckOptions {
  batchSize: number;
  /** A PROCESSING payout is re-checked once it has not changed for this long. */
  processingMinAgeMs: number;
  /** A PENDING payout is executed again once it has waited this long. */
  pendingRedriveAfterMs: number;
}

export interface RecheckSummary {
  checked: number;
  changed: number;
  redriven: number;
  errors: number;
}

export async function recheckPayouts(deps: PayoutsDeps, options: RecheckOptions): Promise<RecheckSummary> {
  const summary: RecheckSummary = { checked: 0, changed: 0, redriven: 0, errors: 0 };
  const inTransaction = ownTransaction(deps);
  for (const payout of await listStalePayouts(deps.db, 'PROCESSING', options.processingMinAgeMs, options.batchSize)) {
    summary.checked++;
    try {
      const pspPayoutId = payout.pspPayoutId;
      if (pspPayoutId === null) continue;
      const state = await callPsp('payouts.retrieve', deps.pspPolicy, deps.logger, () => deps.psp.retrievePayout(pspPayoutId));
      const outcome = await inTransaction(async (tx) => {
        const result = await applyPspPayoutReport(deps, tx, { ...state, payoutId: payout.id, at: new Date() });
        if (result === 'unchanged') await touchPayout(tx, payout.id);
        return result;
      });
      if (outcome === 'changed') summary.changed++;
    } catch (error) {
      summary.errors++;
      deps.logger.warn({ payoutId: payout.id, err: error }, 'payout re-check failed; next round retries');
    }
  }
  for (const payout of await listStalePayouts(deps.db, 'PENDING', options.pendingRedriveAfterMs, options.batchSize)) {
    try {
      const current = await findPayout(deps.db, payout.id);
      if (current?.status !== 'PENDING') continue;
      const outcome = await executePayout(deps, payout.id, inTransaction);
      summary.redriven++;
      if (outcome === 'changed') summary.changed++;
    } catch (error) {
      summary.errors++;
      deps.logger.warn({ payoutId: payout.id, err: error }, 'payout re-drive failed; next round retries');
    }
  }
  return summary;
}
