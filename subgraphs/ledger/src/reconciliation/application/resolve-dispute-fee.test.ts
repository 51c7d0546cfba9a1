// Resolving a dispute's FEE_MISMATCH: the ledger already booked a dispute fee in the
// dispute_opened posting (CR psp_receivable, DR psp_fee_expense), so BOOK_PSP_FEE — which books
// the line's whole fee as a new psp_fee_booked posting — would count the dispute fee twice.
// It applies to charges only (resolve-discrepancy.ts); for a dispute it must be refused with a
// typed error and write nothing.
import { randomBytes } from 'node:crypto';
import { createLogger, createPgAdapter, type SqlClient } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../../generated/prisma/client.js';
import { postTransaction } from '../../application/post-transaction.js';
import { disputeOpened } from '../../domain/builders.test-support.js';
import { postDisputeOpened } from '../../domain/index.js';
import { findAccount } from '../../persistence/ledger-queries.js';
import { utcDayOf } from '../domain/day.js';
import { pspDayLoader } from '../ingestion/sources.js';
import { createReconciliationStripe } from '../ingestion/stripe-balance-transactions.js';
import { findDiscrepancy } from '../persistence/reconciliation-store.js';
import { resolveDiscrepancy } from './resolve-discrepancy.js';
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
const logger = createLogger({ service: 'ledger-resolve-dispute-fee-test', level: 'silent' });
const OPS = { role: 'ops' as const, keyId: 'ops_key_test', sellerId: null };

let database: TestDatabase;
let prisma: PrismaClient;
let db: SqlClient;
let simulator: { url: string; stop(): Promise<void> };
let simulatorDatabaseUrl: string;
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
    config: { webhookMaxAttempts: 1 },
  });
  deps = { db, logger, replayer: null, feeSchedule: { percentBps: 290n, fixedMinor: 30n }, boundaryGraceMs: 0, hotAccountShards: 4, runStaleAfterMs: 60_000 };
});

afterAll(async () => {
  await simulator.stop();
  await simulatorDb.dropDatabase(simulatorDatabaseUrl).catch(() => undefined);
  await prisma.$disconnect();
  await database.drop();
});

async function journalCount(): Promise<number> {
  const rows = await prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM journal_transactions`);
  return Number(rows[0]?.n ?? 0n);
}

describe('resolving a dispute fee mismatch', () => {
  it('refuses BOOK_PSP_FEE (the dispute fee is already booked) with INVALID_STATE and writes nothing', async () => {
    // The PSP withdrew 40.00 for dispute dp_fee_1 and charged a 15.00 dispute fee.
    const line = await fetch(`${simulator.url}/__admin/adjustments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: -4_000, fee: 1_500, currency: 'usd', type: 'adjustment', reporting_category: 'dispute', source: 'dp_fee_1', description: 'Chargeback withdrawal' }),
    });
    expect(line.status).toBe(200);
    // The ledger booked the dispute with a 10.00 fee.
    const opened = postDisputeOpened(
      disputeOpened({
        disputeId: 'dispute_fee_1',
        pspDisputeId: 'dp_fee_1',
        amountMinor: 4_000n,
        disputeFeeMinor: 1_000n,
        orders: [{ paymentOrderId: 'pay_1_po_0', sellerId: 'A', pendingMinor: 4_000n, availableMinor: 0n, disputeFeeMinor: 0n }],
        openedAt: new Date(),
      }),
    );
    if (opened.kind !== 'post') throw new Error(`expected a posting, got ${opened.kind}`);
    await postTransaction(db, opened.transaction, { hotAccountShards: 4 });

    const run = await runReconciliation(deps, utcDayOf(new Date()), pspDayLoader({ kind: 'api', stripe: createReconciliationStripe({ apiKey: 'sk_test_x', apiBase: simulator.url, timeoutMs: 10_000 }) }));
    const mismatch = run.discrepancies.find((row) => row.kind === 'FEE_MISMATCH');
    expect(mismatch).toMatchObject({ rule: 'dispute.fee_differs_from_booked', pspReference: 'dp_fee_1', expectedMinor: 1_000n, actualMinor: 1_500n, status: 'OPEN' });

    const journalBefore = await journalCount();
    const feeExpenseBefore = (await findAccount(db, 'psp_fee_expense', 'USD'))?.balanceMinor;
    expect(feeExpenseBefore).toBe(1_000n);
    await expect(
      resolveDiscrepancy({ db, hotAccountShards: 4 }, OPS, { idempotencyKey: `resolve-${mismatch!.id}`, discrepancyId: mismatch!.id, note: 'book the PSP dispute fee', correction: 'BOOK_PSP_FEE' }),
    ).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(await journalCount()).toBe(journalBefore);
    expect((await findAccount(db, 'psp_fee_expense', 'USD'))?.balanceMinor).toBe(1_000n);
    expect(await findDiscrepancy(db, mismatch!.id)).toMatchObject({ status: 'OPEN', correctionReference: null });
  });
});
