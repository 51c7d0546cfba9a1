// The wallet ↔ ledger invariant. Because payout.requested debits seller_available and credits
// payouts_in_transit in the ledger, the wallet's reserved amount is not inside
// seller_available; it is the seller's part of payouts_in_transit. Exactly, per (seller, currency):
//   pendingMinor   = balance of ledger account seller_pending:<seller>   (in currency)
//   availableMinor = balance of ledger account seller_available:<seller> (in currency)
//   reservedMinor  = sum of balanceAmountMinor of the seller's payout_requested transactions in
//                    that balance currency that have no payout_paid / payout_failed yet
//                    (the ledger metadata carries sellerId, balanceCurrency, balanceAmountMinor)
// hence available + reserved = seller_available + the seller's payouts in transit.
// Balances are signed in the accounts' normal (credit) direction.
import type { WalletBalance } from './wallet.js';

export interface LedgerSellerBalances {
  readonly sellerPendingMinor: bigint;
  readonly sellerAvailableMinor: bigint;
  readonly sellerPayoutsInTransitMinor: bigint;
}

export interface WalletLedgerMismatch {
  readonly field: 'pendingMinor' | 'availableMinor' | 'reservedMinor';
  readonly walletMinor: bigint;
  readonly ledgerMinor: bigint;
}

export type WalletLedgerCheck = { readonly ok: true } | { readonly ok: false; readonly mismatches: readonly WalletLedgerMismatch[] };

export function walletMatchesLedger(wallet: WalletBalance, ledger: LedgerSellerBalances): WalletLedgerCheck {
  const pairs: readonly WalletLedgerMismatch[] = [
    { field: 'pendingMinor', walletMinor: wallet.pendingMinor, ledgerMinor: ledger.sellerPendingMinor },
    { field: 'availableMinor', walletMinor: wallet.availableMinor, ledgerMinor: ledger.sellerAvailableMinor },
    { field: 'reservedMinor', walletMinor: wallet.reservedMinor, ledgerMinor: ledger.sellerPayoutsInTransitMinor },
  ];
  const mismatches = pairs.filter((pair) => pair.walletMinor !== pair.ledgerMinor);
  return mismatches.length === 0 ? { ok: true } : { ok: false, mismatches };
}
