// postTransaction against the real PostgreSQL: duplicates, database-enforced invariants,
// concurrency on hot accounts, as-of balances and pagination.
import { createPgAdapter } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';
import { AT, paymentSucceeded } from '../domain/builders.test-support.js';
import { postOrderDelivered, postPaymentSucceeded, type JournalTransactionDraft } from '../domain/index.js';
import { balanceAt, findAccount, listAccountEntries, listTransactions, trialBalance } from '../persistence/ledger-queries.js';
import { PostingRejectedError, postTransaction, postTransactionInTx, postTransactionsInTx } from './post-transaction.js';

jest.setTimeout(120_000);

let database: TestDatabase;
let prisma: PrismaClient;

beforeAll(async () => {
  database = await createTestDatabase('ledger');
  prisma = new PrismaClient({ adapter: createPgAdapter(database.url, { poolMax: 20 }) });
});

afterAll(async () => {
  await prisma.$disconnect();
  await database.drop();
});

function draftOf(paymentId: string, sellerId: string, amountMinor: bigint, succeededAt = AT): JournalTransactionDraft {
  const result = postPaymentSucceeded({ ...paymentSucceeded([{ sellerId, amountMinor }], { paymentId }), succeededAt });
  if (result.kind !== 'post') throw new Error(`expected a posting, got ${result.kind}`);
  return result.transaction;
}

async function runningMatchesEntries(): Promise<number> {
  const rows = await prisma.$queryRawUnsafe<unknown[]>(`SELECT * FROM ledger_check_account_balances()`);
  return rows.length;
}

describe('postTransaction', () => {
  it('posts balanced entries and updates running balances; a duplicate reference is a no-op', async () => {
    const draft = draftOf('pay_dup', 'dup_seller', 10_000n);
    const first = await postTransaction(prisma, draft);
    const second = await postTransaction(prisma, draft);
    expect(first.status).toBe('posted');
    expect(second).toEqual({ status: 'duplicate', transaction: first.transaction });
    const pending = await findAccount(prisma, 'seller_pending:dup_seller', 'USD');
    expect(pending?.balanceMinor).toBe(9_710n);
    const count = await prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM journal_transactions WHERE reference = $1`, draft.reference);
    expect(Number(count[0]?.n)).toBe(1);
    expect(await runningMatchesEntries()).toBe(0);
  });

  it('rejects an invalid draft before writing', async () => {
    const draft = draftOf('pay_bad', 'bad_seller', 1_000n);
    const unbalanced = { ...draft, entries: draft.entries.slice(0, 2) };
    await expect(postTransaction(prisma, unbalanced)).rejects.toBeInstanceOf(PostingRejectedError);
    expect(await findAccount(prisma, 'seller_pending:bad_seller', 'USD')).toBeUndefined();
  });

  it('posts inside a caller transaction and rolls back with it', async () => {
    const draft = draftOf('pay_rollback', 'rb_seller', 1_000n);
    await expect(
      prisma.$transaction(async (tx) => {
        await postTransactionInTx(tx, draft);
        throw new Error('caller fails after posting');
      }),
    ).rejects.toThrow('caller fails');
    const rows = await prisma.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM journal_transactions WHERE reference = $1`, draft.reference);
    expect(rows).toHaveLength(0);
  });

  it('never loses an update under 200 parallel postings on the hot accounts', async () => {
    const before = await findAccount(prisma, 'psp_receivable', 'EUR');
    expect(before).toBeUndefined();
    const drafts = Array.from({ length: 200 }, (_, index) => {
      const result = postPaymentSucceeded(paymentSucceeded([{ sellerId: `hot_${index % 7}`, amountMinor: BigInt(1_000 + index) }], { paymentId: `pay_hot_${index}`, currency: 'EUR' }));
      if (result.kind !== 'post') throw new Error('expected a posting');
      return result.transaction;
    });
    // Each draft twice: duplicates race their originals.
    const outcomes = await Promise.all([...drafts, ...drafts].map((draft) => postTransaction(prisma, draft)));
    expect(outcomes.filter((outcome) => outcome.status === 'posted')).toHaveLength(200);
    const expectedMinor = drafts.reduce((sum, draft) => sum + (draft.entries.find((entry) => entry.accountCode === 'psp_receivable')?.amountMinor ?? 0n), 0n);
    expect((await findAccount(prisma, 'psp_receivable', 'EUR'))?.balanceMinor).toBe(expectedMinor);
    expect(await runningMatchesEntries()).toBe(0);
    const trial = await trialBalance(prisma, 'EUR');
    expect(trial.totalDebitsMinor).toBe(trial.totalCreditsMinor);
    expect(trial.totalDebitsMinor).toBe(expectedMinor);
  });

  it('answers balances as of a past instant', async () => {
    const t1 = new Date('2025-02-01T00:00:00.000Z');
    const t2 = new Date('2025-02-02T00:00:00.000Z');
    await postTransaction(prisma, draftOf('pay_asof_1', 'asof', 10_000n, t1));
    const delivered = postOrderDelivered({ paymentOrderId: 'pay_asof_1_po_0', paymentId: 'pay_asof_1', sellerId: 'asof', currency: 'USD', netAmountMinor: 9_710n, deliveredAt: t2 });
    if (delivered.kind !== 'post') throw new Error('expected a posting');
    await postTransaction(prisma, delivered.transaction);
    expect(await balanceAt(prisma, 'seller_pending:asof', 'USD', new Date('2025-01-31T00:00:00.000Z'))).toBe(0n);
    expect(await balanceAt(prisma, 'seller_pending:asof', 'USD', t1)).toBe(9_710n);
    expect(await balanceAt(prisma, 'seller_pending:asof', 'USD', t2)).toBe(0n);
    expect(await balanceAt(prisma, 'seller_available:asof', 'USD', t2)).toBe(9_710n);
  });

  it('pages journal transactions and account entries newest first without gaps or repeats', async () => {
    for (let index = 0; index < 7; index++) await postTransaction(prisma, draftOf(`pay_page_${index}`, 'pager', 100n + BigInt(index)));
    const seen: string[] = [];
    let after: string | undefined;
    for (let page = 0; page < 10; page++) {
      const result = await listAccountEntries(prisma, 'seller_pending:pager', 'USD', 3, after);
      seen.push(...result.items.map((item) => item.node.id));
      if (!result.hasNextPage) break;
      after = result.items[result.items.length - 1]?.cursor;
    }
    expect(seen).toHaveLength(7);
    expect(new Set(seen).size).toBe(7);
    const all = await listTransactions(prisma, 200, undefined, 'payment_succeeded');
    const postedAts = all.items.map((item) => item.node.postedAt.getTime());
    expect([...postedAts].sort((a, b) => b - a)).toEqual(postedAts);
    const firstPage = await listTransactions(prisma, 2, undefined, 'payment_succeeded');
    const secondPage = await listTransactions(prisma, 2, firstPage.items[1]?.cursor, 'payment_succeeded');
    expect(secondPage.items[0]?.node.id).toBe(all.items[2]?.node.id);
  });
});

describe('postTransactionsInTx (one statement for many postings)', () => {
  it('posts every draft of a batch once, in order, and the running balances equal the entries', async () => {
    const drafts = Array.from({ length: 60 }, (_, index) => draftOf(`pay_batch_${index}`, `batch_${index % 5}`, BigInt(2_000 + index)));
    const alreadyPosted = drafts[3]!;
    const first = await postTransaction(prisma, alreadyPosted);
    // drafts[10] twice in the same batch: only the first copy is written.
    const batch = [...drafts, drafts[10]!];
    const outcomes = await prisma.$transaction((tx) => postTransactionsInTx(tx, batch));
    expect(outcomes.map((outcome) => outcome.transaction.reference)).toEqual(batch.map((draft) => draft.reference));
    expect(outcomes[3]).toEqual({ status: 'duplicate', transaction: first.transaction });
    expect(outcomes[60]?.status).toBe('duplicate');
    expect(outcomes[60]?.transaction.id).toBe(outcomes[10]?.transaction.id);
    expect(outcomes.filter((outcome) => outcome.status === 'posted')).toHaveLength(59);
    const perSeller = new Map<string, bigint>();
    for (const draft of drafts) {
      const leg = draft.entries.find((entry) => entry.accountCode.startsWith('seller_pending:'))!;
      perSeller.set(leg.accountCode, (perSeller.get(leg.accountCode) ?? 0n) + leg.amountMinor);
    }
    for (const [code, expectedMinor] of perSeller) expect((await findAccount(prisma, code, 'USD'))?.balanceMinor).toBe(expectedMinor);
    const written = await prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM journal_transactions WHERE reference LIKE 'payment_succeeded:pay_batch_%'`);
    expect(Number(written[0]?.n)).toBe(60);
    expect(await runningMatchesEntries()).toBe(0);
  });

  it('writes nothing of a batch with one invalid draft', async () => {
    const good = draftOf('pay_batch_bad_0', 'batch_bad', 1_000n);
    const bad = draftOf('pay_batch_bad_1', 'batch_bad', 1_000n);
    const unbalanced = { ...bad, entries: bad.entries.slice(0, 2) };
    await expect(prisma.$transaction((tx) => postTransactionsInTx(tx, [good, unbalanced]))).rejects.toBeInstanceOf(PostingRejectedError);
    expect(await findAccount(prisma, 'seller_pending:batch_bad', 'USD')).toBeUndefined();
  });

  it('rolls back with the caller, and the database refuses an unbalanced batch at commit', async () => {
    const draft = draftOf('pay_batch_sql', 'batch_sql', 1_000n);
    await expect(
      prisma.$transaction(async (tx) => {
        await postTransactionsInTx(tx, [draft, draftOf('pay_batch_sql_2', 'batch_sql', 500n)]);
        throw new Error('caller fails after posting');
      }),
    ).rejects.toThrow('caller fails');
    expect(await findAccount(prisma, 'seller_pending:batch_sql', 'USD')).toBeUndefined();
    // Straight to the function, past the domain's validation: debits 1,000 against credits 900.
    await expect(
      prisma.$executeRawUnsafe(
        `SELECT * FROM ledger_post_transactions(ARRAY[gen_random_uuid()], ARRAY['raw_unbalanced'], ARRAY['payment_succeeded'], ARRAY[now()], ARRAY['{}'::jsonb],
           ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[NULL::text], ARRAY[1, 1], ARRAY['psp_receivable', 'seller_pending:raw'], ARRAY['USD', 'USD'], ARRAY[0, 0]::int2[],
           ARRAY['ASSET', 'LIABILITY'], ARRAY['DEBIT', 'CREDIT'], ARRAY['DEBIT', 'CREDIT'], ARRAY[1000, 900]::int8[])`,
      ),
    ).rejects.toThrow(/unbalanced/);
    await expect(
      prisma.$executeRawUnsafe(
        `SELECT * FROM ledger_post_transactions(ARRAY[gen_random_uuid(), gen_random_uuid()], ARRAY['raw_one_leg_a', 'raw_one_leg_b'], ARRAY['payment_succeeded', 'payment_succeeded'],
           ARRAY[now(), now()], ARRAY['{}'::jsonb, '{}'::jsonb], ARRAY[NULL::text, NULL], ARRAY[NULL::text, NULL], ARRAY[NULL::text, NULL], ARRAY[1, 1, 1, 2],
           ARRAY['psp_receivable', 'seller_pending:raw', 'psp_receivable', 'seller_pending:raw'], ARRAY['USD', 'USD', 'USD', 'USD'], ARRAY[0, 0, 0, 0]::int2[],
           ARRAY['ASSET', 'LIABILITY', 'ASSET', 'LIABILITY'], ARRAY['DEBIT', 'CREDIT', 'DEBIT', 'CREDIT'], ARRAY['DEBIT', 'CREDIT', 'DEBIT', 'CREDIT'], ARRAY[5, 3, 2, 4]::int8[])`,
      ),
    ).rejects.toThrow(/at least 2 entries/);
    const rows = await prisma.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM journal_transactions WHERE reference LIKE 'raw_%' OR reference LIKE '%pay_batch_sql%'`);
    expect(rows).toHaveLength(0);
  });
});

describe('database invariants (raw SQL)', () => {
  it('refuses UPDATE and DELETE on entries and transactions', async () => {
    await postTransaction(prisma, draftOf('pay_immutable', 'imm', 500n));
    await expect(prisma.$executeRawUnsafe(`UPDATE ledger_entries SET amount_minor = amount_minor + 1`)).rejects.toThrow(/append-only/);
    await expect(prisma.$executeRawUnsafe(`DELETE FROM ledger_entries`)).rejects.toThrow(/append-only/);
    await expect(prisma.$executeRawUnsafe(`UPDATE journal_transactions SET kind = 'reversal'`)).rejects.toThrow(/append-only/);
    await expect(prisma.$executeRawUnsafe(`DELETE FROM journal_transactions`)).rejects.toThrow(/append-only/);
  });

  it('refuses to commit an unbalanced or partial transaction', async () => {
    const accounts = await prisma.$queryRawUnsafe<{ id: string; code: string }[]>(
      `SELECT id::text AS id, code FROM ledger_accounts WHERE currency = 'USD' AND code IN ('seller_pending:imm', 'seller_available:asof')`,
    );
    const [a, b] = accounts;
    if (a === undefined || b === undefined) throw new Error('expected two accounts');
    const insertTx = `INSERT INTO journal_transactions (id, reference, kind, effective_at) VALUES ($1::uuid, $2, 'reversal', now())`;
    const insertEntry = `INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount_minor, currency, effective_at, posted_at)
      SELECT gen_random_uuid(), t.id, $2::uuid, $3, $4, 'USD', t.effective_at, t.posted_at FROM journal_transactions t WHERE t.id = $1::uuid`;
    const unbalanced = prisma.$transaction(async (tx) => {
      const id = '00000000-0000-4000-8000-000000000001';
      await tx.$executeRawUnsafe(insertTx, id, 'raw_unbalanced');
      await tx.$executeRawUnsafe(insertEntry, id, a.id, 'DEBIT', 100);
      await tx.$executeRawUnsafe(insertEntry, id, b.id, 'CREDIT', 99);
    });
    await expect(unbalanced).rejects.toThrow(/unbalanced/);
    const partial = prisma.$transaction(async (tx) => {
      const id = '00000000-0000-4000-8000-000000000002';
      await tx.$executeRawUnsafe(insertTx, id, 'raw_partial');
      await tx.$executeRawUnsafe(insertEntry, id, a.id, 'DEBIT', 100);
    });
    await expect(partial).rejects.toThrow(/at least 2/);
    const empty = prisma.$transaction(async (tx) => {
      await tx.$executeRawUnsafe(insertTx, '00000000-0000-4000-8000-000000000003', 'raw_empty');
    });
    await expect(empty).rejects.toThrow(/at least 2/);
    const rows = await prisma.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM journal_transactions WHERE reference LIKE 'raw_%'`);
    expect(rows).toHaveLength(0);
    await expect(prisma.$executeRawUnsafe(insertEntry, '00000000-0000-4000-8000-000000000004', a.id, 'DEBIT', 0)).resolves.toBe(0);
  });
});
