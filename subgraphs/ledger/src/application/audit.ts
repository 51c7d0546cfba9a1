// The ledger's audit (ARCHITECTURE.md "Ledger"; `npm run audit` and the `audit` query):
//   - per currency the books balance: total debits = total credits, over the entries and over the
//     running balances;
//   - every running balance equals the sum of its entries (ledger_check_account_balances());
//   - every cause is posted at most once: per kind, transactions = distinct references, and at most
//     one payment_succeeded posting per payment (correlation id);
//   - the seller balances the wallet must equal (pending, available, payouts in transit), for the
//     wallet ↔ ledger comparison that the wallet side performs (walletMatchesLedger).
import type { SqlClient } from '@clearhouse/shared';
import { trialBalance, ledgerCurrencies } from '../persistence/ledger-queries.js';

export interface CurrencyCheck {
  readonly currency: string;
  readonly totalDebitsMinor: bigint;
  readonly totalCreditsMinor: bigint;
  /** Same totals from the entries (not the running balances). */
  readonly entryDebitsMinor: bigint;
  readonly entryCreditsMinor: bigint;
  readonly balanced: boolean;
}

export interface AccountDrift {
  readonly code: string;
  readonly currency: string;
  readonly balanceMinor: bigint;
  readonly entriesBalanceMinor: bigint;
}

export interface PostingCount {
  readonly kind: string;
  readonly transactions: number;
  readonly distinctReferences: number;
  /** Causes (payments for payment_succeeded) with more than one posting of this kind. */
  readonly duplicateCauses: number;
}

export interface SellerLedgerBalance {
  readonly sellerId: string;
  readonly currency: string;
  readonly pendingMinor: bigint;
  readonly availableMinor: bigint;
  /** The seller's payouts requested and not yet paid or failed, in the balance currency. */
  readonly inTransitMinor: bigint;
}

export interface LedgerAuditReport {
  readonly generatedAt: Date;
  readonly currencies: readonly CurrencyCheck[];
  readonly accountDrifts: readonly AccountDrift[];
  readonly postingCounts: readonly PostingCount[];
  readonly violations: readonly string[];
  readonly ok: boolean;
}

/** Bound on the rows one audit reads per query (an operator tool, not an unbounded scan). */
export const AUDIT_ROWS_MAX = 1_000_000;

async function currencyChecks(db: SqlClient): Promise<CurrencyCheck[]> {
  const entryTotals = await db.$queryRawUnsafe<{ currency: string; debits: string; credits: string }[]>(
    `SELECT currency,
            coalesce(sum(amount_minor) FILTER (WHERE direction = 'DEBIT'), 0)::text AS debits,
            coalesce(sum(amount_minor) FILTER (WHERE direction = 'CREDIT'), 0)::text AS credits
       FROM ledger_entries GROUP BY currency ORDER BY currency`,
  );
  const byCurrency = new Map(entryTotals.map((row) => [row.currency, row]));
  const currencies = [...new Set([...(await ledgerCurrencies(db)), ...byCurrency.keys()])].sort();
  const checks: CurrencyCheck[] = [];
  for (const currency of currencies) {
    const running = await trialBalance(db, currency);
    const entries = byCurrency.get(currency);
    const entryDebitsMinor = BigInt(entries?.debits ?? '0');
    const entryCreditsMinor = BigInt(entries?.credits ?? '0');
    checks.push({
      currency,
      totalDebitsMinor: running.totalDebitsMinor,
      totalCreditsMinor: running.totalCreditsMinor,
      entryDebitsMinor,
      entryCreditsMinor,
      balanced: running.totalDebitsMinor === running.totalCreditsMinor && entryDebitsMinor === entryCreditsMinor,
    });
  }
  return checks;
}

async function accountDrifts(db: SqlClient): Promise<AccountDrift[]> {
  const rows = await db.$queryRawUnsafe<{ code: string; currency: string; balance_minor: string; entries_balance_minor: string }[]>(
    `SELECT code, currency, balance_minor::text AS balance_minor, entries_balance_minor::text AS entries_balance_minor
       FROM ledger_check_account_balances() ORDER BY code, currency LIMIT ${AUDIT_ROWS_MAX}`,
  );
  return rows.map((row) => ({ code: row.code, currency: row.currency, balanceMinor: BigInt(row.balance_minor), entriesBalanceMinor: BigInt(row.entries_balance_minor) }));
}

async function postingCounts(db: SqlClient): Promise<PostingCount[]> {
  const rows = await db.$queryRawUnsafe<{ kind: string; transactions: bigint; references: bigint; duplicate_causes: bigint }[]>(
    `SELECT t.kind, count(*) AS transactions, count(DISTINCT t.reference) AS references,
            (SELECT count(*) FROM (SELECT d.correlation_id FROM journal_transactions d
                                    WHERE d.kind = t.kind AND d.kind = 'payment_succeeded'
                                    GROUP BY d.correlation_id HAVING count(*) > 1) dup) AS duplicate_causes
       FROM journal_transactions t GROUP BY t.kind ORDER BY t.kind`,
  );
  return rows.map((row) => ({ kind: row.kind, transactions: Number(row.transactions), distinctReferences: Number(row.references), duplicateCauses: Number(row.duplicate_causes) }));
}

export async function auditLedger(db: SqlClient): Promise<LedgerAuditReport> {
  const [currencies, drifts, counts] = [await currencyChecks(db), await accountDrifts(db), await postingCounts(db)];
  const violations: string[] = [];
  for (const check of currencies) {
    if (check.totalDebitsMinor !== check.totalCreditsMinor) {
      violations.push(`trial balance ${check.currency}: running balances debit ${check.totalDebitsMinor} != credit ${check.totalCreditsMinor}`);
    }
    if (check.entryDebitsMinor !== check.entryCreditsMinor) {
      violations.push(`trial balance ${check.currency}: entries debit ${check.entryDebitsMinor} != credit ${check.entryCreditsMinor}`);
    }
  }
  for (const drift of drifts) {
    violations.push(`account ${drift.code} ${drift.currency}: running balance ${drift.balanceMinor} != sum of entries ${drift.entriesBalanceMinor}`);
  }
  for (const count of counts) {
    if (count.transactions !== count.distinctReferences) violations.push(`${count.kind}: ${count.transactions} postings for ${count.distinctReferences} references`);
    if (count.duplicateCauses > 0) violations.push(`${count.kind}: ${count.duplicateCauses} causes posted more than once`);
  }
  return { generatedAt: new Date(), currencies, accountDrifts: drifts, postingCounts: counts, violations, ok: violations.length === 0 };
}

/**
 * Per (seller, currency): seller_pending and seller_available balances, and the seller's payouts
 * in transit (payout_requested postings without a payout_paid / payout_failed, in the balance
 * currency, from the posting metadata) — the numbers walletMatchesLedger compares.
 */
export async function sellerLedgerBalances(db: SqlClient, sellerId?: string): Promise<SellerLedgerBalance[]> {
  const accounts = await db.$queryRawUnsafe<{ code: string; currency: string; balance_minor: string }[]>(
    `SELECT code, currency, sum(balance_minor)::text AS balance_minor FROM ledger_accounts
      WHERE (code LIKE 'seller\\_pending:%' OR code LIKE 'seller\\_available:%')
        AND ($1::text IS NULL OR code IN ('seller_pending:' || $1::text, 'seller_available:' || $1::text))
      GROUP BY code, currency ORDER BY code, currency LIMIT ${AUDIT_ROWS_MAX}`,
    sellerId ?? null,
  );
  const inTransit = await db.$queryRawUnsafe<{ seller_id: string; currency: string; amount_minor: string }[]>(
    `SELECT r.metadata->>'sellerId' AS seller_id, r.metadata->>'balanceCurrency' AS currency, sum((r.metadata->>'balanceAmountMinor')::numeric)::text AS amount_minor
       FROM journal_transactions r
      WHERE r.kind = 'payout_requested' AND ($1::text IS NULL OR r.metadata->>'sellerId' = $1::text)
        AND NOT EXISTS (SELECT 1 FROM journal_transactions s
                         WHERE s.reference IN ('payout_paid:' || (r.metadata->>'payoutId'), 'payout_failed:' || (r.metadata->>'payoutId')))
      GROUP BY 1, 2`,
    sellerId ?? null,
  );
  const balances = new Map<string, { sellerId: string; currency: string; pendingMinor: bigint; availableMinor: bigint; inTransitMinor: bigint }>();
  const slot = (seller: string, currency: string) => {
    const key = `${seller}|${currency}`;
    let balance = balances.get(key);
    if (balance === undefined) {
      balance = { sellerId: seller, currency, pendingMinor: 0n, availableMinor: 0n, inTransitMinor: 0n };
      balances.set(key, balance);
    }
    return balance;
  };
  for (const row of accounts) {
    const separator = row.code.indexOf(':');
    const balance = slot(row.code.slice(separator + 1), row.currency);
    if (row.code.startsWith('seller_pending:')) balance.pendingMinor = BigInt(row.balance_minor);
    else balance.availableMinor = BigInt(row.balance_minor);
  }
  for (const row of inTransit) slot(row.seller_id, row.currency).inTransitMinor = BigInt(row.amount_minor);
  return [...balances.values()].sort((a, b) => (a.sellerId === b.sellerId ? (a.currency < b.currency ? -1 : 1) : a.sellerId < b.sellerId ? -1 : 1));
}
