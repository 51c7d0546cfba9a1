// A posted journal transaction is immutable (ARCHITECTURE.md "Ledger": append-only, corrected only
// by a reversing transaction, enforced in the database). Besides UPDATE and DELETE, that means no
// entry can be added to a transaction once it is committed, not even a balanced pair.
import { createPgAdapter } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import { AT, paymentSucceeded } from '../domain/builders.test-support.js';
import { postPaymentSucceeded } from '../domain/index.js';
import { postTransaction, postTransactionInTx } from './post-transaction.js';

jest.setTimeout(60_000);

let database: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  database = await createTestDatabase('ledger');
  prisma = new PrismaClient({ adapter: createPgAdapter(database.url, { poolMax: 5 }) });
});

afterAll(async () => {
  await prisma.$disconnect();
  await database.drop();
});

function draftOf(paymentId: string, sellerId: string, amountMinor: bigint) {
  const result = postPaymentSucceeded({ ...paymentSucceeded([{ sellerId, amountMinor }], { paymentId }), succeededAt: AT });
  if (result.kind !== 'post') throw new Error(`expected a posting, got ${result.kind}`);
  return result.transaction;
}

const ADD_ENTRY = `INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount_minor, currency, effective_at, posted_at)
  SELECT gen_random_uuid(), t.id, a.id, $3, $4, a.currency, t.effective_at, t.posted_at
    FROM journal_transactions t, ledger_accounts a WHERE t.reference = $1 AND a.code = $2 AND a.currency = 'USD' AND a.shard = 0`;

async function entryCount(reference: string): Promise<number> {
  const rows = await prisma.$queryRawUnsafe<{ n: bigint }[]>(
    `SELECT count(*) AS n FROM ledger_entries e JOIN journal_transactions t ON t.id = e.transaction_id WHERE t.reference = $1`,
    reference,
  );
  return Number(rows[0]?.n ?? 0n);
}

describe('append-only journal (raw SQL)', () => {
  it('refuses a balanced pair of entries added to a committed transaction, and writes nothing', async () => {
    const draft = draftOf('pay_append_only', 'ao_seller', 10_000n);
    await postTransaction(prisma, draft);
    await postTransaction(prisma, draftOf('pay_append_only_other', 'ao_other', 1_000n));
    const before = await entryCount(draft.reference);
    const tamper = prisma.$transaction(async (tx) => {
      // Moves 1.00 from one seller to another inside the already posted payment: balanced, >= 2 entries.
      await tx.$executeRawUnsafe(ADD_ENTRY, draft.reference, 'seller_pending:ao_seller', 'DEBIT', 100);
      await tx.$executeRawUnsafe(ADD_ENTRY, draft.reference, 'seller_pending:ao_other', 'CREDIT', 100);
    });
    await expect(tamper).rejects.toThrow(/append-only|committed/);
    expect(await entryCount(draft.reference)).toBe(before);
  });

  it('still posts inside a caller transaction and inside a savepoint of it', async () => {
    const draft = draftOf('pay_append_only_tx', 'ao_tx', 2_000n);
    await prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe('SAVEPOINT posting');
      await postTransactionInTx(tx, draft);
      await tx.$executeRawUnsafe('RELEASE SAVEPOINT posting');
    });
    expect(await entryCount(draft.reference)).toBe(draft.entries.length);
  });
});
