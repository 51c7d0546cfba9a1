// The posting path's cost must not grow with the size of the ledger. Its statements live in
// PL/pgSQL functions, whose plans each connection caches: planned while the tables were small (a
// new database, or before the first ANALYZE), a plan may read a whole table, and it keeps doing so
// while the table grows until something invalidates it. Against the real PostgreSQL: one
// connection posts while the tables are tiny, the accounts table then grows without an ANALYZE,
// and the next posting, with its commit-time checks fired, must not have scanned a table.
import { createPgAdapter } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import { paymentSucceeded } from '../domain/builders.test-support.js';
import { postPaymentSucceeded, type JournalTransactionDraft } from '../domain/index.js';
import { postTransaction, postTransactionInTx, postTransactionsInTx } from './post-transaction.js';

jest.setTimeout(120_000);

const FILLER_ACCOUNTS = 20_000;
const LEDGER_TABLES = ['ledger_accounts', 'journal_transactions', 'ledger_entries'] as const;

let database: TestDatabase;
/** One connection, so every posting runs on the plans the earlier ones cached. */
let prisma: PrismaClient;

beforeAll(async () => {
  database = await createTestDatabase('ledger');
  prisma = new PrismaClient({ adapter: createPgAdapter(database.url, { poolMax: 1 }) });
});

afterAll(async () => {
  await prisma.$disconnect();
  await database.drop();
});

function draftOf(paymentId: string, sellerId: string): JournalTransactionDraft {
  const result = postPaymentSucceeded(paymentSucceeded([{ sellerId, amountMinor: 10_000n }], { paymentId }));
  if (result.kind !== 'post') throw new Error(`expected a posting, got ${result.kind}`);
  return result.transaction;
}

/** Sequential scans this transaction ran so far, per ledger table (pg_stat_xact_user_tables). */
async function seqScansInTx(tx: Pick<PrismaClient, '$queryRawUnsafe'>): Promise<Record<string, number>> {
  const rows = await tx.$queryRawUnsafe<{ relname: string; seq_scan: bigint }[]>(
    `SELECT relname::text AS relname, seq_scan FROM pg_stat_xact_user_tables WHERE relname = ANY($1::text[]) ORDER BY relname`,
    [...LEDGER_TABLES],
  );
  return Object.fromEntries(rows.map((row) => [row.relname, Number(row.seq_scan)]));
}

describe('posting plans', () => {
  it('reads no ledger table in full once the tables have grown past the plans cached while they were small', async () => {
    // Tiny tables: more than the five executions after which PostgreSQL may keep a generic plan,
    // through both entry points (one posting, a batch).
    for (let index = 0; index < 8; index += 1) {
      await postTransaction(prisma, draftOf(`pay_plan_${index}`, `plan_seller_${index}`));
    }
    for (let index = 0; index < 8; index += 1) {
      await prisma.$transaction((tx) => postTransactionsInTx(tx, [draftOf(`pay_plan_batch_${index}`, `plan_seller_${index}`)]));
    }
    // The ledger grows (sellers' accounts), with no ANALYZE: autovacuum is off on CI's server and
    // lags behind a fast-growing table on a production one.
    await prisma.$executeRawUnsafe(
      `INSERT INTO ledger_accounts (id, code, currency, type, normal_balance)
       SELECT gen_random_uuid(), 'seller_pending:filler_' || g, 'USD', 'LIABILITY', 'CREDIT' FROM generate_series(1, $1::int) g`,
      FILLER_ACCOUNTS,
    );

    const single = await prisma.$transaction(async (tx) => {
      const outcome = await postTransactionInTx(tx, draftOf('pay_plan_grown', 'plan_seller_grown'));
      // Fire the deferred balance checks now, inside the transaction, so they are counted too.
      await tx.$executeRawUnsafe('SET CONSTRAINTS ALL IMMEDIATE');
      return { status: outcome.status, scans: await seqScansInTx(tx) };
    });
    const batch = await prisma.$transaction(async (tx) => {
      const outcomes = await postTransactionsInTx(tx, [draftOf('pay_plan_grown_1', 'plan_seller_1'), draftOf('pay_plan_grown_2', 'plan_seller_grown_2')]);
      await tx.$executeRawUnsafe('SET CONSTRAINTS ALL IMMEDIATE');
      return { statuses: outcomes.map((outcome) => outcome.status), scans: await seqScansInTx(tx) };
    });

    expect(single).toEqual({ status: 'posted', scans: { journal_transactions: 0, ledger_accounts: 0, ledger_entries: 0 } });
    expect(batch).toEqual({ statuses: ['posted', 'posted'], scans: { journal_transactions: 0, ledger_accounts: 0, ledger_entries: 0 } });
  });
});
