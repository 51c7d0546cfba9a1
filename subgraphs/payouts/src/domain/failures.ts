// How a failed PSP call is classified for payouts: retry later with the same idempotency key
// (nothing was decided at the PSP), or fail the payout for good (the PSP said no).

export type PspFailureKind = 'timeout' | 'connection' | 'server' | 'rate_limited' | 'in_use' | 'rejected';

export type PayoutFailureClass = 'retryable' | 'permanent';

export function classifyPspFailure(kind: PspFailureKind): PayoutFailureClass {
  return kind === 'rejected' ? 'permanent' : 'retryable';
}

/** Failure codes stored on the payout when the PSP gives none. */
export const FAILURE_CODE_REJECTED = 'psp_rejected';
export const FAILURE_CODE_CANCELED = 'canceled';
