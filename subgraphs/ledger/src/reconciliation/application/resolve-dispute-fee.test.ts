// Resolving a dispute's FEE_MISMATCH: the ledger already booked a dispute fee in the
// dispute_opened posting (CR psp_receivable, DR psp_fee_expense), so BOOK_PSP_FEE — which books
// the line's whole fee as a new psp_fee_booked posting — would count the dispute fee twice.
// It applies to charges only (resolve-discrepancy.ts); for a dispute it must be refused with a
// typed error and write nothing.
import { postTransaction } from '../../application/post-transaction.js';
import { disputeOpened } from '../../domain/builders.test-support.js';
import { postDisputeOpened } from '../../domain/index.js';
import { findAccount } from '../../persistence/ledger-queries.js';
import { utcDayOf } from '../domain/day.js';
import { pspDayLoader } from '../ingestion/sources.js';
import { createReconciliationStripe } from '../ingestion/stripe-balance-transactions.js';
import { findDiscrepancy } from '../persistence/reconciliation-store.js';
import { resolveDiscrepancy } from './resolve-discrepancy.js';
import { runReconciliation } from './run-reconciliation.js';
import { OPS, startReconciliationWorld, type ReconciliationWorld } from './world.test-support.js';

jest.setTimeout(120_000);

let world: ReconciliationWorld;

beforeAll(async () => {
  world = await startReconciliationWorld();
});

afterAll(async () => {
  await world?.stop();
});

async function journalCount(): Promise<number> {
  const rows = await world.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM journal_transactions`);
  return Number(rows[0]?.n ?? 0n);
}

describe('resolving a dispute fee mismatch', () => {
  it('refuses BOOK_PSP_FEE (the dispute fee is already booked) with INVALID_STATE and writes nothing', async () => {
    // The PSP withdrew 40.00 for dispute dp_fee_1 and charged a 15.00 dispute fee.
    const line = await fetch(`${world.simulatorUrl}/__admin/adjustments`, {
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
    await postTransaction(world.db, opened.transaction, { hotAccountShards: 4 });

    const run = await runReconciliation(world.deps, utcDayOf(new Date()), pspDayLoader({ kind: 'api', stripe: createReconciliationStripe({ apiKey: 'sk_test_x', apiBase: world.simulatorUrl, timeoutMs: 10_000 }) }));
    const mismatch = run.discrepancies.find((row) => row.kind === 'FEE_MISMATCH');
    expect(mismatch).toMatchObject({ rule: 'dispute.fee_differs_from_booked', pspReference: 'dp_fee_1', expectedMinor: 1_000n, actualMinor: 1_500n, status: 'OPEN' });

    const journalBefore = await journalCount();
    const feeExpenseBefore = (await findAccount(world.db, 'psp_fee_expense', 'USD'))?.balanceMinor;
    expect(feeExpenseBefore).toBe(1_000n);
    await expect(
      resolveDiscrepancy({ db: world.db, hotAccountShards: 4 }, OPS, { idempotencyKey: `resolve-${mismatch!.id}`, discrepancyId: mismatch!.id, note: 'book the PSP dispute fee', correction: 'BOOK_PSP_FEE' }),
    ).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(await journalCount()).toBe(journalBefore);
    expect((await findAccount(world.db, 'psp_fee_expense', 'USD'))?.balanceMinor).toBe(1_000n);
    expect(await findDiscrepancy(world.db, mismatch!.id)).toMatchObject({ status: 'OPEN', correctionReference: null });
  });
});
