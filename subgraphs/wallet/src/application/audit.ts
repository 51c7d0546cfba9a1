// The wallet ↔ ledger invariant over every seller: each wallet equals the ledger's seller
// accounts (walletMatchesLedger), and no seller has ledger money without a wallet or a wallet
// without ledger money. The ledger side's numbers come from the ledger (its audit, or through
// the gateway via AuditReport.sellerBalances); this module only compares.
import type { SqlClient } from '@clearhouse/shared';
import { emptyWallet, walletMatchesLedger, type WalletLedgerMismatch } from '../domain/index.js';
import { listWallets, type StoredWallet } from '../persistence/wallet-store.js';

export interface SellerLedgerNumbers {
  readonly sellerId: string;
  readonly currency: string;
  readonly pendingMinor: bigint;
  readonly availableMinor: bigint;
  readonly inTransitMinor: bigint;
}

export interface WalletMismatch extends WalletLedgerMismatch {
  readonly sellerId: string;
  readonly currency: string;
}

const WALLET_PAGE_SIZE = 1_000;
const WALLET_PAGES_MAX = 10_000;

export async function loadAllWallets(db: SqlClient): Promise<StoredWallet[]> {
  const wallets: StoredWallet[] = [];
  let after: { sellerId: string; currency: string } | undefined;
  for (let page = 0; page < WALLET_PAGES_MAX; page++) {
    const rows = await listWallets(db, after, WALLET_PAGE_SIZE);
    wallets.push(...rows);
    const last = rows[rows.length - 1];
    if (last === undefined || rows.length < WALLET_PAGE_SIZE) return wallets;
    after = { sellerId: last.sellerId, currency: last.currency };
  }
  throw new Error(`more than ${WALLET_PAGES_MAX * WALLET_PAGE_SIZE} wallets`);
}

export function compareWalletsWithLedger(wallets: readonly StoredWallet[], ledger: readonly SellerLedgerNumbers[]): WalletMismatch[] {
  const ledgerByKey = new Map(ledger.map((row) => [`${row.sellerId}|${row.currency}`, row]));
  const walletByKey = new Map(wallets.map((wallet) => [`${wallet.sellerId}|${wallet.currency}`, wallet]));
  const keys = [...new Set([...ledgerByKey.keys(), ...walletByKey.keys()])].sort();
  const mismatches: WalletMismatch[] = [];
  for (const key of keys) {
    const [sellerId = '', currency = ''] = key.split('|');
    const wallet = walletByKey.get(key) ?? emptyWallet(sellerId, currency);
    const numbers = ledgerByKey.get(key);
    const check = walletMatchesLedger(wallet, {
      sellerPendingMinor: numbers?.pendingMinor ?? 0n,
      sellerAvailableMinor: numbers?.availableMinor ?? 0n,
      sellerPayoutsInTransitMinor: numbers?.inTransitMinor ?? 0n,
    });
    if (!check.ok) mismatches.push(...check.mismatches.map((mismatch) => ({ ...mismatch, sellerId, currency })));
  }
  return mismatches;
}
