// Reconciliation of payouts against the real PSP simulator: a paid payout (one `payout` line) and
// a failed one (a `payout` line and its `payout_reversal`), both posted in the ledger exactly as
// the consumers post payout.requested / payout.paid / payout.failed. Nothing disagrees, so a day
// with a failed payout must reconcile without discrepancies (ARCHITECTURE.md "Reconciliation":
// every line matched to ledger transactions by PSP reference, amount, currency and fee).
import { randomBytes } from 'node:crypto';
import { createLogger, createPgAdapter, type SqlClient } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../../generated/prisma/client.js';
import { postTransaction } from '../../application/post-transaction.js';
import { postPayoutFailed, postPayoutPaid, postPayoutRequested, type PostingResult } from '../../domain/index.js';
import { utcDayOf } from '../domain/day.js';
import { pspDayLoader } from '../ingestion/sources.js';
import { createReconciliationStripe } from '../ingestion/stripe-balance-transactions.js';
import { runReconciliation, type ReconciliationDeps } from './run-reconciliation.js';

jest.setTimeout(120_000);

interface SimulatorModule {
  startSimulator(options: Record<string, unknown>): Promise<{ url: string; port: number; stop(): Promise<void> }>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulatorModule = require('../../../../../psp-simulator/src/server.ts') as SimulatorModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulatorDb = require('../../../../../psp-simulator/src/store/db.ts') as { dropDatabase(url: string): Promise<void> };

const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const logger = createLogger({ service: 'ledger-reconcile-payouts-test', level: 'silent' });

let database: TestDatabase;
let prisma: PrismaClient;
let db: SqlClient;
let simulator: { url: string; stop(): Promise<void> };
let simulatorDatabaseUrl: string;
let stripe: ReturnType<typeof createReconciliationStripe>;
let deps: ReconciliationDeps;

beforeAll(async () => {
  database = await createTestDatabase('ledger');
  prisma = new PrismaClient({ adapter: createPgAdapter(database.url, { poolMax: 5 }) });
  db = prisma as unknown as SqlClient;
  simulatorDatabaseUrl = `${POSTGRES_URL}/clearhouse_test_psp_${randomBytes(6).toString('hex')}`;
  simulator = await simulatorModule.startSimulator({
    port: 0,
    host: '127.0.0.1',
    databaseUrl: simulatorDatabaseUrl,
    webhookUrl: 'http://127.0.0.1:9/unused',
    webhookSecret: 'whsec_test',
    logLevel: 'silent',
    config: { webhookMaxAttempts: 1, payoutDelayMs: 100 },
  });
  stripe = createReconciliationStripe({ apiKey: 'sk_test_reconciliation', apiBase: simulator.url, timeoutMs: 10_000 });
  deps = { db, logger, replayer: null, feeSchedule: { percentBps: 290n, fixedMinor: 30n }, boundaryGraceMs: 0, hotAccountShards: 4, runStaleAfterMs: 60_000 };
});

afterAll(async () => {
  await simulator.stop();
  await simulatorDb.dropDatabase(simulatorDatabaseUrl).catch(() => undefined);
  await prisma.$disconnect();
  await database.drop();
});

async function post(result: PostingResult): Promise<void> {
  if (result.kind !== 'post') throw new Error(`expected a posting, got ${result.kind}`);
  await postTransaction(db, result.transaction, { hotAccountShards: 4 });
}

/** Creates a payout at the PSP and waits until it is final (paid or failed). */
async function payoutAtPsp(amountMinor: number, destination: string): Promise<{ id: string; status: string }> {
  const created = await stripe.payouts.create({ amount: amountMinor, currency: 'usd', destination });
  for (let attempt = 0; attempt < 100; attempt++) {
    const payout = await stripe.payouts.retrieve(created.id);
    if (payout.status === 'paid' || payout.status === 'failed') return { id: payout.id, status: payout.status };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`payout ${created.id} never became final`);
}

describe('reconciliation of payouts', () => {
  it('matches a paid and a failed payout with their ledger postings: no discrepancy, from both sources', async () => {
    const now = new Date();
    const paid = await payoutAtPsp(5_000, 'ba_seller_ok');
    expect(paid.status).toBe('paid');
    const paidFields = { payoutId: 'payout_paid_1', sellerId: 'seller_p', currency: 'USD', amountMinor: 5_000n };
    await post(postPayoutRequested({ ...paidFields, requestedAt: now }));
    await post(postPayoutPaid({ ...paidFields, pspPayoutId: paid.id, paidAt: now }));

    const failed = await payoutAtPsp(7_000, 'ba_seller_fail_closed');
    expect(failed.status).toBe('failed');
    const failedFields = { payoutId: 'payout_failed_1', sellerId: 'seller_f', currency: 'USD', amountMinor: 7_000n };
    await post(postPayoutRequested({ ...failedFields, requestedAt: now }));
    await post(postPayoutFailed({ ...failedFields, pspPayoutId: failed.id, failureCode: 'account_closed', failedAt: now }));

    const today = utcDayOf(now);
    for (const loader of [pspDayLoader({ kind: 'api', stripe }), pspDayLoader({ kind: 'csv-url', url: `${simulator.url}/__admin/settlements/{date}.csv` })]) {
      const result = await runReconciliation(deps, today, loader);
      // paid: one payout line; failed: its payout line and its payout_reversal line.
      expect(result.run).toMatchObject({ status: 'COMPLETED', lineCount: 3 });
      expect(result.discrepancies.map((row) => ({ kind: row.kind, rule: row.rule, pspReference: row.pspReference }))).toEqual([]);
      expect(result.run.matchedCount).toBe(3);
    }
  });
});
