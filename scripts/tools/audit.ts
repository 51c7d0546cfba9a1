// npm run audit
// The books audit, for operators: reads the ledger and wallet databases directly (an operator
// tool, not a service) and checks
//   1. per currency the trial balance is zero (debits = credits, over entries and running balances);
//   2. every running balance equals the sum of its entries (ledger_check_account_balances());
//   3. every cause is posted once (per kind: postings = distinct references; at most one
//      payment_succeeded posting per payment);
//   4. every seller's wallet equals its ledger accounts (walletMatchesLedger: pending, available,
//      reserved = the seller's payouts in transit).
// Prints a report; exits 1 on any violation, 2 when it cannot run.
// env: POSTGRES_URL (default postgresql://postgres@127.0.0.1:5432), DATABASE_PREFIX (default
//      clearhouse) → databases <prefix>_ledger and <prefix>_wallet; AUDIT_LEDGER_DATABASE_URL /
//      AUDIT_WALLET_DATABASE_URL override either full URL.
import { createPgAdapter, databaseUrl, formatAmount } from '@clearhouse/shared';
import { auditLedger, sellerLedgerBalances } from '../../subgraphs/ledger/src/application/audit';
import { PrismaClient as LedgerPrismaClient } from '../../subgraphs/ledger/src/generated/prisma/client';
import { compareWalletsWithLedger, loadAllWallets } from '../../subgraphs/wallet/src/application/audit';
import { PrismaClient as WalletPrismaClient } from '../../subgraphs/wallet/src/generated/prisma/client';

function urls(): { ledger: string; wallet: string } {
  const server = process.env.POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432';
  const prefix = process.env.DATABASE_PREFIX || 'clearhouse';
  return {
    ledger: process.env.AUDIT_LEDGER_DATABASE_URL || databaseUrl(server, prefix, 'ledger'),
    wallet: process.env.AUDIT_WALLET_DATABASE_URL || databaseUrl(server, prefix, 'wallet'),
  };
}

function money(amountMinor: bigint, currency: string): string {
  const negative = amountMinor < 0n;
  return `${negative ? '-' : ''}${formatAmount(negative ? -amountMinor : amountMinor, currency)} ${currency}`;
}

async function main(): Promise<number> {
  const { ledger: ledgerUrl, wallet: walletUrl } = urls();
  const ledger = new LedgerPrismaClient({ adapter: createPgAdapter(ledgerUrl, { poolMax: 2 }) });
  const wallet = new WalletPrismaClient({ adapter: createPgAdapter(walletUrl, { poolMax: 2 }) });
  try {
    const report = await auditLedger(ledger);
    const sellers = await sellerLedgerBalances(ledger);
    const mismatches = compareWalletsWithLedger(await loadAllWallets(wallet), sellers);
    const violations = [
      ...report.violations,
      ...mismatches.map((m) => `wallet ${m.sellerId} ${m.currency}: ${m.field} wallet ${m.walletMinor} != ledger ${m.ledgerMinor}`),
    ];

    console.log(`Clearhouse books audit — ${report.generatedAt.toISOString()}`);
    console.log('\nTrial balance per currency');
    if (report.currencies.length === 0) console.log('  (no ledger accounts yet)');
    for (const check of report.currencies) {
      console.log(`  ${check.balanced ? 'OK  ' : 'FAIL'} ${check.currency}  debits ${money(check.totalDebitsMinor, check.currency)}  credits ${money(check.totalCreditsMinor, check.currency)}`);
    }
    console.log(`\nRunning balances vs entries: ${report.accountDrifts.length === 0 ? 'OK' : `FAIL (${report.accountDrifts.length} accounts)`}`);
    console.log('\nPostings per kind (postings / distinct references / causes posted twice)');
    for (const count of report.postingCounts) console.log(`  ${count.kind.padEnd(20)} ${count.transactions} / ${count.distinctReferences} / ${count.duplicateCauses}`);
    console.log(`\nWallets vs ledger seller accounts: ${sellers.length} seller balances compared: ${mismatches.length === 0 ? 'OK' : `FAIL (${mismatches.length} mismatches)`}`);

    if (violations.length > 0) {
      console.log(`\nVIOLATIONS (${violations.length})`);
      for (const violation of violations) console.log(`  - ${violation}`);
      console.log('\naudit: FAILED');
      return 1;
    }
    console.log('\naudit: OK');
    return 0;
  } finally {
    await Promise.allSettled([ledger.$disconnect(), wallet.$disconnect()]);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`audit: could not run: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(2);
  },
);
