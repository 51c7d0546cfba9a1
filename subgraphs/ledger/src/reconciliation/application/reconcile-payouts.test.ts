// Reconciliation of payouts against the real PSP simulator: a paid payout (one `payout` line) and
// a failed one (a `payout` line and its `payout_reversal`), both posted in the ledger exactly as
// the consumers post payout.requested / payout.paid / payout.failed. Nothing disagrees, so a day
// with a failed payout must reconcile without discrepancies (ARCHITECTURE.md "Reconciliation":
// every line matched to ledger transactions by PSP reference, amount, currency and fee).
import { postTransaction } from '../../application/post-transaction.js';
import { postPayoutFailed, postPayoutPaid, postPayoutRequested, type PostingResult } from '../../domain/index.js';
import { utcDayOf } from '../domain/day.js';
import { pspDayLoader } from '../ingestion/sources.js';
import { runReconciliation } from './run-reconciliation.js';
import { startReconciliationWorld, type ReconciliationWorld } from './world.test-support.js';

jest.setTimeout(120_000);

let world: ReconciliationWorld;

beforeAll(async () => {
  world = await startReconciliationWorld({ simulatorConfig: { payoutDelayMs: 100 } });
});

afterAll(async () => {
  await world?.stop();
});

async function post(result: PostingResult): Promise<void> {
  if (result.kind !== 'post') throw new Error(`expected a posting, got ${result.kind}`);
  await postTransaction(world.db, result.transaction, { hotAccountShards: 4 });
}

/** Creates a payout at the PSP and waits until it is final (paid or failed). */
async function payoutAtPsp(amountMinor: number, destination: string): Promise<{ id: string; status: string }> {
  const created = await world.stripe.payouts.create({ amount: amountMinor, currency: 'usd', destination });
  for (let attempt = 0; attempt < 100; attempt++) {
    const payout = await world.stripe.payouts.retrieve(created.id);
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
    for (const loader of [pspDayLoader({ kind: 'api', stripe: world.stripe }), pspDayLoader({ kind: 'csv-url', url: `${world.simulatorUrl}/__admin/settlements/{date}.csv` })]) {
      const result = await runReconciliation(world.deps, today, loader);
      // paid: one payout line; failed: its payout line and its payout_reversal line.
      expect(result.run).toMatchObject({ status: 'COMPLETED', lineCount: 3 });
      expect(result.discrepancies.map((row) => ({ kind: row.kind, rule: row.rule, pspReference: row.pspReference }))).toEqual([]);
      expect(result.run.matchedCount).toBe(3);
    }
  });
});
