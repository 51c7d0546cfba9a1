// Payout reservations: a hold on the available balance while a payout is in flight.
// held → consumed (payout.paid) | released (payout.failed). Anything else is an error.
// A release that comes before any reservation of its payout id leaves a release marker: released,
// with no terms (it held nothing), so that payout id is never reserved afterwards.

export type ReservationStatus = 'held' | 'released' | 'consumed';

/** What a reservation holds: whose money, in which currency, how much. */
export interface ReservationTerms {
  readonly sellerId: string;
  readonly currency: string;
  readonly amountMinor: bigint;
}

export interface WalletReservation extends ReservationTerms {
  /** The payout id. */
  readonly id: string;
  readonly status: ReservationStatus;
}

/** A payout id released before it was ever reserved: it held nothing and has no terms. */
export interface ReleaseMarker {
  /** The payout id. */
  readonly id: string;
  readonly status: 'released';
  readonly marker: true;
}

/** What is stored under a payout id: a reservation that was taken, or a release marker. */
export type StoredReservation = WalletReservation | ReleaseMarker;

export function isReleaseMarker(stored: StoredReservation): stored is ReleaseMarker {
  return 'marker' in stored;
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
export function settleReservation(reservation: WalletReservation, outcome: ReservationOutcome, payout: ReservationTerms): ReservationTransition {
  if (payout.sellerId !== reservation.sellerId || payout.currency !== reservation.currency || payout.amountMinor !== reservation.amountMinor) {
    return { ok: false, code: 'RESERVATION_MISMATCH', message: `payout ${reservation.id} does not match its reservation` };
  }
  if (!TRANSITIONS[reservation.status].includes(outcome)) {
    return { ok: false, code: 'RESERVATION_NOT_HELD', message: `reservation ${reservation.id} is ${reservation.status}, cannot become ${outcome}` };
  }
  return { ok: true, reservation: { ...reservation, status: outcome } };
}

/** What a reservation request asks to hold: an exact amount, or (null) the whole available balance up to amountMaxMinor. */
export interface ReservationRequestTerms {
  readonly sellerId: string;
  readonly currency: string;
  readonly amountMinor: bigint | null;
  /** The cap of a "whole balance" request (maxAmountMinor of the currency). */
  readonly amountMaxMinor: bigint;
}

/** Whether the stored reservation is one this request could have taken: same seller and currency, its exact amount or (whole balance) an amount within the cap. */
export function reservationFitsRequest(reservation: ReservationTerms, request: ReservationRequestTerms): boolean {
  if (reservation.sellerId !== request.sellerId || reservation.currency !== request.currency) return false;
  return request.amountMinor === null ? reservation.amountMinor <= request.amountMaxMinor : reservation.amountMinor === request.amountMinor;
}

export type ReservationReplay =
  | { readonly ok: true; readonly amountMinor: bigint }
  | { readonly ok: false; readonly code: 'RESERVATION_RELEASED' | 'RESERVATION_MISMATCH' };

/**
 * The answer to a reservation request for a payout id that already has something stored, in
 * whatever status. The terms are compared first, in every status: a request with other terms is
 * not this reservation's retry, so neither its hold nor its release is the request's to answer
 * (RESERVATION_MISMATCH). Then only a hold that is still there may be replayed; a given-back or
 * paid one never is (RESERVATION_RELEASED): answering it as held would let the payouts subgraph
 * save and pay a payout that took nothing from the balance. A release marker has no terms to
 * compare and held nothing: RESERVATION_RELEASED whatever the request.
 */
export function replayReservation(stored: StoredReservation, request: ReservationRequestTerms): ReservationReplay {
  if (isReleaseMarker(stored)) return { ok: false, code: 'RESERVATION_RELEASED' };
  if (!reservationFitsRequest(stored, request)) return { ok: false, code: 'RESERVATION_MISMATCH' };
  return stored.status === 'held' ? { ok: true, amountMinor: stored.amountMinor } : { ok: false, code: 'RESERVATION_RELEASED' };
}
