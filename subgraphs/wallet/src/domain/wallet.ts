// A seller's wallet in one currency: the projection of the ledger's seller accounts that the
// wallet subgraph keeps for fast reads and for holds during payouts. Pure; no I/O.

export interface WalletBalance {
  readonly sellerId: string;
  readonly currency: string;
  /** = ledger seller_pending:<seller>. May dip below zero only transiently (events applied out of order). */
  readonly pendingMinor: bigint;
  /** = ledger seller_available:<seller>. Negative when refunds/disputes exceed it; recovered from later sales. */
  readonly availableMinor: bigint;
  /** = the seller's payouts requested and not yet paid or failed (its share of payouts_in_transit). Never negative. */
  readonly reservedMinor: bigint;
}

export interface WalletDelta {
  readonly pendingDeltaMinor: bigint;
  readonly availableDeltaMinor: bigint;
  readonly reservedDeltaMinor: bigint;
}

export type WalletMovementKind =
  | 'payment_succeeded'
  | 'order_delivered'
  | 'payout_requested'
  | 'payout_paid'
  | 'payout_failed'
  | 'refund_succeeded'
  | 'refund_reversed'
  | 'dispute_opened'
  | 'dispute_won'
  | 'dispute_lost';

/** One event's effect on one (seller, currency) wallet; becomes one wallet_movements row. */
export interface WalletChange {
  readonly sellerId: string;
  readonly currency: string;
  readonly kind: WalletMovementKind;
  readonly delta: WalletDelta;
  /** Set for payout_requested: the reservation must fit into the available balance. */
  readonly requiresAvailableMinor?: bigint;
}

export const WALLET_RULE_ERROR_CODES = ['INSUFFICIENT_FUNDS', 'WALLET_MISMATCH', 'INVALID_AMOUNT', 'RESERVATION_NOT_HELD', 'RESERVATION_MISMATCH', 'RESERVATION_RELEASED'] as const;
export type WalletRuleErrorCode = (typeof WALLET_RULE_ERROR_CODES)[number];

export class WalletRuleError extends Error {
  override readonly name = 'WalletRuleError';
  readonly code: WalletRuleErrorCode;
  readonly field: string | undefined;

  constructor(code: WalletRuleErrorCode, message: string, field?: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

export type WalletTransition =
  | { readonly ok: true; readonly wallet: WalletBalance; readonly delta: WalletDelta }
  | { readonly ok: false; readonly error: WalletRuleError };

export function emptyWallet(sellerId: string, currency: string): WalletBalance {
  return { sellerId, currency, pendingMinor: 0n, availableMinor: 0n, reservedMinor: 0n };
}

export const ZERO_DELTA: WalletDelta = { pendingDeltaMinor: 0n, availableDeltaMinor: 0n, reservedDeltaMinor: 0n };

export function isZeroDelta(delta: WalletDelta): boolean {
  return delta.pendingDeltaMinor === 0n && delta.availableDeltaMinor === 0n && delta.reservedDeltaMinor === 0n;
}

export function addDeltas(a: WalletDelta, b: WalletDelta): WalletDelta {
  return {
    pendingDeltaMinor: a.pendingDeltaMinor + b.pendingDeltaMinor,
    availableDeltaMinor: a.availableDeltaMinor + b.availableDeltaMinor,
    reservedDeltaMinor: a.reservedDeltaMinor + b.reservedDeltaMinor,
  };
}

/**
 * The balances a wallet passed through when `deltas` were applied to it in order and it ended at
 * `after`: one balance after each delta, the last equal to `after`. Lets a batch update a wallet
 * once (by the deltas' sum) and still report every intermediate balance exactly as if each delta
 * had been applied on its own.
 */
export function balancesAlong(after: WalletBalance, deltas: readonly WalletDelta[]): WalletBalance[] {
  const total = deltas.reduce(addDeltas, ZERO_DELTA);
  let current: WalletBalance = {
    ...after,
    pendingMinor: after.pendingMinor - total.pendingDeltaMinor,
    availableMinor: after.availableMinor - total.availableDeltaMinor,
    reservedMinor: after.reservedMinor - total.reservedDeltaMinor,
  };
  const along: WalletBalance[] = [];
  for (const delta of deltas) {
    current = {
      ...current,
      pendingMinor: current.pendingMinor + delta.pendingDeltaMinor,
      availableMinor: current.availableMinor + delta.availableDeltaMinor,
      reservedMinor: current.reservedMinor + delta.reservedDeltaMinor,
    };
    along.push(current);
  }
  // Postcondition: replaying the deltas lands exactly on the balance we started from.
  const last = along.at(-1);
  if (last !== undefined && (last.pendingMinor !== after.pendingMinor || last.availableMinor !== after.availableMinor || last.reservedMinor !== after.reservedMinor)) {
    throw new Error('balancesAlong: the replay does not end at the final balance');
  }
  return along;
}

/**
 * Applies one change to the wallet it belongs to. Refuses a reservation larger than the
 * available balance (INSUFFICIENT_FUNDS) and anything that would make reserved negative.
 */
export function applyWalletChange(wallet: WalletBalance, change: WalletChange): WalletTransition {
  if (wallet.sellerId !== change.sellerId || wallet.currency !== change.currency) {
    return { ok: false, error: new WalletRuleError('WALLET_MISMATCH', `change for ${change.sellerId}/${change.currency} applied to ${wallet.sellerId}/${wallet.currency}`) };
  }
  if (change.requiresAvailableMinor !== undefined && wallet.availableMinor < change.requiresAvailableMinor) {
    return {
      ok: false,
      error: new WalletRuleError('INSUFFICIENT_FUNDS', `available ${wallet.availableMinor} is below the requested ${change.requiresAvailableMinor}`, 'amountMinor'),
    };
  }
  const next: WalletBalance = {
    ...wallet,
    pendingMinor: wallet.pendingMinor + change.delta.pendingDeltaMinor,
    availableMinor: wallet.availableMinor + change.delta.availableDeltaMinor,
    reservedMinor: wallet.reservedMinor + change.delta.reservedDeltaMinor,
  };
  if (next.reservedMinor < 0n) {
    return { ok: false, error: new WalletRuleError('RESERVATION_NOT_HELD', 'reserved would go negative: the payout was never reserved', 'amountMinor') };
  }
  // Postcondition: the change moved exactly its delta (no amount created or lost).
  const movedMinor = next.pendingMinor + next.availableMinor + next.reservedMinor - (wallet.pendingMinor + wallet.availableMinor + wallet.reservedMinor);
  if (movedMinor !== change.delta.pendingDeltaMinor + change.delta.availableDeltaMinor + change.delta.reservedDeltaMinor) {
    throw new Error('applyWalletChange: totals moved by more than the delta');
  }
  return { ok: true, wallet: next, delta: change.delta };
}
