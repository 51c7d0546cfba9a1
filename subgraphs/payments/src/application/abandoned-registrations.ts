// A checkout whose registration with the PSP failed (PSP_UNAVAILABLE) leaves its payment CREATED,
// so that the client's retry with the same idempotency key finishes it. A client that never
// retries would leave it CREATED for ever. Once it is older than the abandonment age (25 h by
// default: past the idempotency keys' 24 h and the 24-h life of any PSP checkout session an
// unanswered attempt may have opened), it is canceled, as cancelPayment cancels a payment never
// registered: nothing to close at the PSP, no money moved. A client that retries the key later
// is answered with the CANCELED payment.
import type { PaymentsDeps } from './deps.js';
import { transitionPayment } from './transition.js';

export const ABANDONED_REGISTRATION_CAUSE = 'registration abandoned: the PSP never confirmed the checkout and the client did not retry';

export interface AbandonedRegistrationsSummary {
  found: number;
  canceled: number;
}

/** Cancels up to `batchSize` payments still CREATED `olderThanMs` after their creation (as of `now`). */
export async function cancelAbandonedRegistrations(
  deps: PaymentsDeps,
  options: { olderThanMs: number; batchSize: number; now?: Date },
): Promise<AbandonedRegistrationsSummary> {
  if (!(Number.isInteger(options.batchSize) && options.batchSize >= 1 && options.batchSize <= 1_000)) throw new Error('batchSize must be 1..1000');
  if (!(options.olderThanMs >= 0)) throw new Error('olderThanMs must not be negative');
  const cutoff = new Date((options.now ?? new Date()).getTime() - options.olderThanMs);
  const ids = await deps.store.createdPaymentIdsBefore(cutoff, options.batchSize);
  const summary: AbandonedRegistrationsSummary = { found: ids.length, canceled: 0 };
  for (const paymentId of ids) {
    const changed = await deps.store.transaction(async (tx) => {
      // Under the row lock: a retry that registered it meanwhile has moved it on.
      const locked = await tx.lockPayment(paymentId);
      if (!locked || locked.status !== 'CREATED' || locked.createdAt >= cutoff) return false;
      return (await transitionPayment(tx, locked, { to: 'CANCELED', cause: ABANDONED_REGISTRATION_CAUSE })).changed;
    });
    if (changed) summary.canceled += 1;
  }
  if (summary.canceled > 0) {
    deps.onOutboxWritten();
    deps.logger.info({ ...summary, olderThanMs: options.olderThanMs }, 'payments whose PSP registration was abandoned were canceled');
  }
  return summary;
}
