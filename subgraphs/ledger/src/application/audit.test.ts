// The books audit: auditLedger on consistent and drifted data, and `npm run audit` (the operator
// tool, scripts/tools/audit.ts) end to end against a ledger and a wallet test database.
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createPgAdapter } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import { AT, paymentSucceeded } from '../domain/builders.test-support.js';
import { postOrderDelivered, postPaymentSucceeded, postPayoutRequested } from '../domain/index.js';
import { auditLedger, sellerLedgerBalances } from './audit.js';
import { postTransaction } from './post-transaction.js';

jest.setTimeout(120_000);

const execFileAsync = promisify(execFile);
const repoRoot = join(__dirname, '..', '..', '..', '..');

let ledgerDb: TestDatabase;
let walletDb: TestDatabase;
let prisma: PrismaClient;

function mustPost<T extends { kind: string }>(result: T): Extract<T, { kind: 'post' }> extends { transaction: infer D } ? D : never {
  if (result.kind !== 'post') throw new Error(`expected a posting, got ${result.kind}`);
  return (result as unknown as { transaction: never }).transaction;
}

async function runAuditTool(): Promise<{ code: number; output: string }> {
  try {
    const { stdout } = await execFileAsync(process.execPath, [join(repoRoot, 'scripts', 'run-tool.mjs'), 'audit'], {
      cwd: repoRoot,
      env: { ...process.env, NODE_OPTIONS: '', AUDIT_LEDGER_DATABASE_URL: ledgerDb.url, AUDIT_WALLET_DATABASE_URL: walletDb.url },
      timeout: 60_000,
    });
    return { code: 0, output: stdout };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof failed.code === 'number' ? failed.code : -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}` };
  }
}

async function walletSql(sql: string, ...values: unknown[]): Promise<void> {
  const wallet = new PrismaClient({ adapter: createPgAdapter(walletDb.url, { poolMax: 1 }) });
  try {
    await wallet.$executeRawUnsafe(sql, ...values);
  } finally {
    await wallet.$disconnect();
  }
}

beforeAll(async () => {
  [ledgerDb, walletDb] = await Promise.all([createTestDatabase('ledger'), createTestDatabase('wallet')]);
  prisma = new PrismaClient({ adapter: createPgAdapter(ledgerDb.url, { poolMax: 4 }) });
  const payment = paymentSucceeded([{ sellerId: 'aud_a', amountMinor: 10_000n }, { sellerId: 'aud_b', amountMinor: 5_000n }], { paymentId: 'pay_aud' });
  await postTransaction(prisma, mustPost(postPaymentSucceeded(payment)));
  await postTransaction(prisma, mustPost(postOrderDelivered({ paymentOrderId: 'pay_aud_po_0', paymentId: 'pay_aud', sellerId: 'aud_a', currency: 'USD', netAmountMinor: 9_710n, deliveredAt: AT })));
  await postTransaction(prisma, mustPost(postPayoutRequested({ payoutId: 'po_aud', sellerId: 'aud_a', currency: 'USD', amountMinor: 2_000n, requestedAt: AT })));
  // The wallet projection of the same events.
  await walletSql(
    `INSERT INTO wallet_balances (seller_id, currency, pending_minor, available_minor, reserved_minor, version) VALUES
       ('aud_a', 'USD', 0, 7710, 2000, 3), ('aud_b', 'USD', 4855, 0, 0, 1)`,
  );
});

afterAll(async () => {
  await prisma.$disconnect();
  await Promise.all([ledgerDb.drop(), walletDb.drop()]);
});

describe('books audit', () => {
  it('passes on consistent books', async () => {
    const report = await auditLedger(prisma);
    expect(report.violations).toEqual([]);
    expect(report.currencies).toEqual([expect.objectContaining({ currency: 'USD', balanced: true, totalDebitsMinor: 15_000n })]);
    expect(report.postingCounts.map((count) => `${count.kind}:${count.transactions}`)).toEqual(['order_delivered:1', 'payment_succeeded:1', 'payout_requested:1']);
    expect(await sellerLedgerBalances(prisma)).toEqual([
      { sellerId: 'aud_a', currency: 'USD', pendingMinor: 0n, availableMinor: 7_710n, inTransitMinor: 2_000n },
      { sellerId: 'aud_b', currency: 'USD', pendingMinor: 4_855n, availableMinor: 0n, inTransitMinor: 0n },
    ]);
    const tool = await runAuditTool();
    expect(tool.output).toContain('audit: OK');
    expect(tool.code).toBe(0);
  });

  it('fails, listing the violations, when a running balance or a wallet drifts', async () => {
    // Forced drift: the running balance is updatable (entries are not), so this is the drift an
    // audit exists to catch.
    await prisma.$executeRawUnsafe(`UPDATE ledger_accounts SET balance_minor = balance_minor + 1 WHERE code = 'seller_pending:aud_b'`);
    await walletSql(`UPDATE wallet_balances SET available_minor = available_minor - 10 WHERE seller_id = 'aud_a'`);
    const report = await auditLedger(prisma);
    expect(report.ok).toBe(false);
    expect(report.violations.join('\n')).toMatch(/seller_pending:aud_b USD: running balance 4856 != sum of entries 4855/);
    expect(report.violations.join('\n')).toMatch(/trial balance USD: running balances/);
    const tool = await runAuditTool();
    expect(tool.code).toBe(1);
    expect(tool.output).toContain('audit: FAILED');
    expect(tool.output).toContain('wallet aud_a USD: availableMinor wallet 7700 != ledger 7710');
    expect(tool.output).toContain('seller_pending:aud_b');
  });
});
