// Payout reservations: a hold on the available balance while a payout is in flight.
// held → consumed (payout.paid) | released (payout.failed). Anything else is an error.

export type ReservationStatus = 'held' | 'released' | 'consumed';

export interface WalletReservation {
  /** The payout id. */
  readonly id: string;
  readonly sellerId: string;
  readonly currency: string;
  readonly amountMinor: bigint;
  readonly status: ReservationStatus;
}

export type ReservationOutcome = 'consumed' | 'released';

export type ReservationTransition =
  | { readonly ok: true; readonly reservation: WalletReservation }
  | { readonly ok: false; readonly code: 'RESERVATION_NOT_HELD' | 'RESERVATION_MISMATCH'; readonly message: string };

const TRANSITIONS: { readonly [S in ReservationStatus]: readonly ReservationOutcome[] } = {
  held: ['consumed', 'released'],
  released: [],
  consumed: [],
};

/** Settles a held reservation; the payout event must match it exactly (seller, currency, amount). */
export function settleReservation(
  reservation: WalletReservation,
  outcome: ReservationOutcome,
  payout: { readonly sellerId: string; readonly currency: string; readonly amountMinor: bigint },
): ReservationTransition {
  if (payout.sellerId !== reservation.sellerId || payout.currency !== reservation.currency || payout.amountMinor !== reservation.amountMinor) {
    return { ok: false, code: 'RESERVATION_MISMATCH', message: `payout ${reservation.id} does not match its reservation` };
  }
  if (!TRANSITIONS[reservation.status].includes(outcome)) {
    return { ok: false, code: 'RESERVATION_NOT_HELD', message: `reservation ${reservation.id} is ${reservation.status}, cannot become ${outcome}` };
  }
  return { ok: true, reservation: { ...reservation, status: outcome } };
}
