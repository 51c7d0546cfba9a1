// Payout reservations: reserve (available → reserved, refused with INSUFFICIENT_FUNDS when the
// available balance is too small — a conditional UPDATE under the row lock, so concurrent
// reservations never overdraw), consume (payout paid: reserved leaves the wallet) and release
// (payout failed: reserved → available). The *InTx variants run in a caller's transaction (the
// consumers); the others open their own. All are idempotent per payout id. A payout id whose
// release came before any reservation (a release marker, stored by the internal release route)
// is never reserved or consumed: both are refused with RESERVATION_RELEASED.
import type { SqlClient, TransactionalDb } from '@clearhouse/shared';
import type { WalletChange } from '../domain/index.js';
import { WalletRuleError, isReleaseMarker, reservationFitsRequest, settleReservation, walletChangesFor } from '../domain/index.js';
import { insertReservation, lockReservation, settleReservationRow, type StoredWallet } from '../persistence/wallet-store.js';
import { applyWalletChanges } from './apply-changes.js';

export interface PayoutHold {
  readonly payoutId: string;
  readonly sellerId: string;
  readonly currency: string;
  readonly amountMinor: bigint;
  readonly at: Date;
  readonly causationEventId?: string;
}

export type ReservationResult = { readonly status: 'applied'; readonly wallet: StoredWallet | undefined } | { readonly status: 'already_applied' };

const TRANSACTION_TIMEOUT_MS = 10_000;

function payoutFields(hold: PayoutHold) {
  return { payoutId: hold.payoutId, sellerId: hold.sellerId, currency: hold.currency, amountMinor: hold.amountMinor };
}

function cause(kind: string, hold: PayoutHold) {
  return {
    causationKey: `${kind}:${hold.payoutId}`,
    correlationId: hold.payoutId,
    at: hold.at,
    ...(hold.causationEventId === undefined ? {} : { causationEventId: hold.causationEventId }),
  };
}

export async function reserveInTx(tx: SqlClient, hold: PayoutHold): Promise<ReservationResult> {
  const inserted = await insertReservation(tx, { id: hold.payoutId, sellerId: hold.sellerId, currency: hold.currency, amountMinor: hold.amountMinor });
  if (inserted === undefined) {
    const existing = await lockReservation(tx, hold.payoutId);
    if (existing !== undefined && isReleaseMarker(existing)) throw new WalletRuleError('RESERVATION_RELEASED', `payout ${hold.payoutId} was released before it was reserved`);
    // An exact amount: the cap (for whole-balance requests only) plays no part.
    const terms = { sellerId: hold.sellerId, currency: hold.currency, amountMinor: hold.amountMinor, amountMaxMinor: hold.amountMinor };
    if (existing === undefined || !reservationFitsRequest(existing, terms)) {
      throw new WalletRuleError('RESERVATION_MISMATCH', `payout ${hold.payoutId} is already reserved with other terms`);
    }
    return { status: 'already_applied' };
  }
  const changes: WalletChange[] = walletChangesFor({ type: 'payout.requested', payload: { ...payoutFields(hold), requestedAt: hold.at } });
  const [applied] = await applyWalletChanges(tx, changes, cause('payout_requested', hold));
  return { status: 'applied', wallet: applied?.wallet };
}

async function settleInTx(tx: SqlClient, hold: PayoutHold, outcome: 'consumed' | 'released'): Promise<ReservationResult> {
  const reservation = await lockReservation(tx, hold.payoutId);
  if (reservation === undefined) throw new WalletRuleError('RESERVATION_NOT_HELD', `payout ${hold.payoutId} has no reservation`);
  if (isReleaseMarker(reservation)) {
    // Released before it was reserved: it held nothing, so a release has nothing left to do and
    // a payment of it took nothing from the balance (not retried: no reservation will come).
    if (outcome === 'released') return { status: 'already_applied' };
    throw new WalletRuleError('RESERVATION_RELEASED', `payout ${hold.payoutId} was released before it was reserved; nothing to consume`);
  }
  if (reservation.status === outcome) return { status: 'already_applied' };
  const transition = settleReservation(reservation, outcome, payoutFields(hold));
  if (!transition.ok) throw new WalletRuleError(transition.code, transition.message);
  await settleReservationRow(tx, hold.payoutId, outcome);
  const changes =
    outcome === 'consumed'
      ? walletChangesFor({ type: 'payout.paid', payload: { ...payoutFields(hold), pspPayoutId: 'n/a', paidAt: hold.at } })
      : walletChangesFor({ type: 'payout.failed', payload: { ...payoutFields(hold), failedAt: hold.at } });
  const [applied] = await applyWalletChanges(tx, changes, cause(outcome === 'consumed' ? 'payout_paid' : 'payout_failed', hold));
  return { status: 'applied', wallet: applied?.wallet };
}

export const consumeInTx = (tx: SqlClient, hold: PayoutHold) => settleInTx(tx, hold, 'consumed');
export const releaseInTx = (tx: SqlClient, hold: PayoutHold) => settleInTx(tx, hold, 'released');

export function reserve(db: TransactionalDb, hold: PayoutHold): Promise<ReservationResult> {
  return Promise.resolve(db.$transaction((tx) => reserveInTx(tx, hold), { timeout: TRANSACTION_TIMEOUT_MS }));
}

export function consume(db: TransactionalDb, hold: PayoutHold): Promise<ReservationResult> {
  return Promise.resolve(db.$transaction((tx) => consumeInTx(tx, hold), { timeout: TRANSACTION_TIMEOUT_MS }));
}

export function release(db: TransactionalDb, hold: PayoutHold): Promise<ReservationResult> {
  return Promise.resolve(db.$transaction((tx) => releaseInTx(tx, hold), { timeout: TRANSACTION_TIMEOUT_MS }));
}
