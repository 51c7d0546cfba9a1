// The safety net for lost webhooks: payments still pending at the PSP are asked about on a
// schedule (backing off with their age) and settled through the same path as webhooks.
import { PSP_PENDING_STATUSES } from '../domain/payment-status.js';
import { recheckDelayMs, type PaymentsDeps } from './deps.js';
import { retrievePspState, syncPaymentWithPsp } from './sync-with-psp.js';

export interface RecheckSummary {
  checked: number;
  changed: number;
  failed: number;
}

export async function recheckPendingPayments(deps: PaymentsDeps, batchSize: number): Promise<RecheckSummary> {
  const due = await deps.store.claimPaymentsForRecheck(PSP_PENDING_STATUSES, batchSize, (payment) => recheckDelayMs(deps.recheck, payment.createdAt));
  const summary: RecheckSummary = { checked: 0, changed: 0, failed: 0 };
  for (const payment of due) {
    summary.checked += 1;
    try {
      const state = await retrievePspState(deps, payment.pspPaymentIntentId ?? '', { ...deps.pspPolicy, attemptsMax: 1 });
      const outcome = await syncPaymentWithPsp(deps, payment.id, state, 'scheduled re-check');
      if (outcome.kind === 'changed') summary.changed += 1;
    } catch (error) {
      summary.failed += 1;
      deps.logger.warn({ paymentId: payment.id, err: error }, 're-check of a payment failed; it stays due');
    }
  }
  if (summary.checked > 0) deps.logger.info(summary, 'payments re-checked against the PSP');
  return summary;
}
