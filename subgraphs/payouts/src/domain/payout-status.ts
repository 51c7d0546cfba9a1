// The payout state machine: one transition table, nothing else moves a status.
//   PENDING → PROCESSING (the PSP accepted it) | FAILED (the PSP rejected it) | CANCELED
//   PROCESSING → PAID | FAILED (the PSP reports the outcome)
// PAID, FAILED and CANCELED are final. The database repeats the table in a trigger.

export const PAYOUT_STATUSES = ['PENDING', 'PROCESSING', 'PAID', 'FAILED', 'CANCELED'] as const;
export type PayoutStatus = (typeof PAYOUT_STATUSES)[number];

const TRANSITIONS: { readonly [S in PayoutStatus]: readonly PayoutStatus[] } = {
  PENDING: ['PROCESSING', 'FAILED', 'CANCELED'],
  PROCESSING: ['PAID', 'FAILED'],
  PAID: [],
  FAILED: [],
  CANCELED: [],
};

export type PayoutTransition =
  | { readonly ok: true; readonly from: PayoutStatus; readonly to: PayoutStatus }
  | { readonly ok: false; readonly code: 'ILLEGAL_TRANSITION' | 'ALREADY_IN_STATE'; readonly message: string };

export function isPayoutStatus(value: string): value is PayoutStatus {
  return (PAYOUT_STATUSES as readonly string[]).includes(value);
}

export function isFinalPayoutStatus(status: PayoutStatus): boolean {
  return TRANSITIONS[status].length === 0;
}

export function canTransition(from: PayoutStatus, to: PayoutStatus): boolean {
  return TRANSITIONS[from].includes(to);
}

/**
 * Decides a status change. Repeating the current status (a duplicated confirmation) is reported
 * apart from an illegal move, so the caller can treat it as a harmless replay.
 */
export function transitionPayout(from: PayoutStatus, to: PayoutStatus): PayoutTransition {
  if (from === to) return { ok: false, code: 'ALREADY_IN_STATE', message: `payout is already ${to}` };
  if (!canTransition(from, to)) return { ok: false, code: 'ILLEGAL_TRANSITION', message: `a payout cannot move from ${from} to ${to}` };
  return { ok: true, from, to };
}
