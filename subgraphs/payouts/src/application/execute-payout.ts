// Executes a PENDING payout at the PSP (payouts.create) and records the answer.
//
// Idempotency keys: `payout:<payoutId>`, then `payout:<payoutId>:<round>`. A timeout or a
// connection error is retried with the SAME key (the PSP either replays what it did or runs it
// once). A 5xx is different: Stripe stores it under the key and replays it forever, so that key
// is burned; the next delivery walks the rounds (each burned key answers its replayed 5xx at
// once), first asks the PSP whether a payout for this payoutId exists after all, and only then
// uses the next round's key. At most one fresh attempt per delivery; retryable failures throw
// RetryableError so the consumer's retry tiers space the deliveries. A permanent refusal (4xx)
// fails the payout, which releases the seller's reservation downstream.
import { RetryableError } from '@clearhouse/shared';
import { classifyPspFailure, FAILURE_CODE_REJECTED } from '../domain/failures.js';
import type { Payout } from '../domain/payout.js';
import { findPayout } from '../persistence/payouts.js';
import { callPsp } from '../psp/executor.js';
import { PspError, type PspPayoutState } from '../psp/port.js';
import { applyPspPayoutReport, failPendingPayout, type ConfirmOutcome } from './confirm-payout.js';
import type { InTransaction, PayoutsDeps } from './deps.js';

export type ExecuteOutcome = ConfirmOutcome | 'skipped';

export const KEY_ROUNDS_MAX = 10;

export function pspIdempotencyKey(payoutId: string, round = 0): string {
  return round === 0 ? `payout:${payoutId}` : `payout:${payoutId}:${round}`;
}

async function createAtPsp(deps: PayoutsDeps, payout: Payout): Promise<PspPayoutState> {
  for (let round = 0; round < KEY_ROUNDS_MAX; round++) {
    if (round > 0) {
      const existing = await callPsp('payouts.list', deps.pspPolicy, deps.logger, () => deps.psp.findPayout(payout.id, payout.destination));
      if (existing) return existing;
    }
    try {
      return await callPsp(
        'payouts.create',
        deps.pspPolicy,
        deps.logger,
        () =>
          deps.psp.createPayout({
            payoutId: payout.id,
            sellerId: payout.sellerId,
            amountMinor: payout.payoutAmountMinor,
            currency: payout.payoutCurrency,
            destination: payout.destination,
            idempotencyKey: pspIdempotencyKey(payout.id, round),
          }),
        // A 5xx is stored under the key: retrying it with the same key is pointless.
        (error) => error.retryable && error.kind !== 'server',
      );
    } catch (error) {
      if (error instanceof PspError && error.kind === 'server' && error.replayed) continue;
      throw error;
    }
  }
  throw new PspError('server', `payouts.create for ${payout.id}: all ${KEY_ROUNDS_MAX} idempotency keys answered with server errors`, null, null);
}

export async function executePayout(deps: PayoutsDeps, payoutId: string, inTransaction: InTransaction): Promise<ExecuteOutcome> {
  const payout = await findPayout(deps.db, payoutId);
  if (payout === null) throw new RetryableError(`payout ${payoutId} not found (not committed yet?)`);
  if (payout.status !== 'PENDING') return 'skipped';

  let state: PspPayoutState;
  try {
    state = await createAtPsp(deps, payout);
  } catch (error) {
    if (!(error instanceof PspError)) throw error;
    if (classifyPspFailure(error.kind) === 'retryable') {
      throw new RetryableError(`payouts.create for ${payoutId} failed (${error.kind}): ${error.message}`, { cause: error });
    }
    return inTransaction((tx) => failPendingPayout(deps, tx, payoutId, { failureCode: error.code ?? FAILURE_CODE_REJECTED, failureMessage: error.message.slice(0, 2000) }));
  }
  return inTransaction((tx) =>
    applyPspPayoutReport(deps, tx, {
      pspPayoutId: state.pspPayoutId,
      payoutId,
      status: state.status,
      failureCode: state.failureCode,
      failureMessage: state.failureMessage,
      at: new Date(),
    }),
  );
}
