// The reconciliation against a real PSP simulator (in-process, own database) and a fresh ledger
// database: a clean day, a dropped webhook replayed, a fee the PSP charged differently, an
// adjustment nobody knows, a duplicated posting, a malformed file — from both sources.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { systemCaller } from '@clearhouse/shared';
import { postTransaction } from '../../application/post-transaction.js';
import type { RefundSucceededV1 } from '@clearhouse/shared';
import { postPaymentSucceeded, postRefundReversed, postRefundSucceeded } from '../../domain/index.js';
import { ReversalTargetMissingError } from '../../persistence/journal-writer.js';
import type { PaymentReplayer, RefundResyncOutcome, ReplayOutcome } from '../clients/payments-replay.js';
import { utcDayOf } from '../domain/day.js';
import { pspDayLoader } from '../ingestion/sources.js';
import { createReconciliationStripe } from '../ingestion/stripe-balance-transactions.js';
import { claimRun, countLines, discrepanciesOfDay, findDiscrepancy, findRun, RunSupersededError } from '../persistence/reconciliation-store.js';
import { resolveDiscrepancy } from './resolve-discrepancy.js';
import { IngestionError, runReconciliation } from './run-reconciliation.js';
import { ageRunPastStale, heldUntilReleased, OPS, setSimulatorFaults, settlementFile, startReconciliationWorld, type ReconciliationWorld } from './world.test-support.js';

jest.setTimeout(120_000);

/** One simulator + one ledger database: a world whose "today" only this test writes to. */
interface World extends ReconciliationWorld {
  replays: string[];
  /** The PSP refunds payments was asked to re-sync. */
  refundResyncs: string[];
  /** refund.succeeded@1 as payments announced it, by PSP refund id (what a reversal mirrors). */
  refunds: Map<string, RefundSucceededV1>;
}

async function startWorld(): Promise<World> {
  const replays: string[] = [];
  const refundResyncs: string[] = [];
  const refunds = new Map<string, RefundSucceededV1>();
  const world = await startReconciliationWorld({
    // Stand-in for payments' replay route: what the real chain ends in (payment.succeeded → ledger).
    replayer: ({ stripe, db }): PaymentReplayer => ({
      async replay(paymentIntentId): Promise<ReplayOutcome> {
        replays.push(paymentIntentId);
        const intent = await stripe.paymentIntents.retrieve(paymentIntentId);
        const paymentId = intent.metadata.paymentId;
        if (!paymentId) return { kind: 'unknown', reason: 'not a Clearhouse payment' };
        await postTransaction(db, paymentDraft(paymentId, paymentIntentId, BigInt(intent.amount)));
        return { kind: 'replayed', paymentId, status: 'SUCCEEDED', changed: true };
      },
      // What the real chain ends in: payments reverses the SUCCEEDED refund the PSP reports
      // failed and emits refund.reversed@1, which the ledger posts as refund_reversed.
      async resyncRefund(pspRefundId): Promise<RefundResyncOutcome> {
        refundResyncs.push(pspRefundId);
        const atPsp = await stripe.refunds.retrieve(pspRefundId);
        const succeeded = refunds.get(pspRefundId);
        if (!atPsp.metadata?.refundId || !succeeded) return { kind: 'unknown', reason: 'not a Clearhouse refund' };
        if (atPsp.status !== 'failed') return { kind: 'resynced', refundId: succeeded.refundId, status: 'SUCCEEDED', changed: false, reversed: false };
        const { feePolicy: _feePolicy, refundedAt: _refundedAt, ...split } = succeeded;
        const reversal = postRefundReversed({ ...split, failureReason: atPsp.failure_reason ?? 'unknown', reversedAt: new Date() });
        if (reversal.kind !== 'post') throw new Error(`cannot build the refund reversal: ${reversal.kind}`);
        // refund.reversed@1 is emitted; the ledger's consumer retries it until its refund_succeeded is posted.
        await postTransaction(db, reversal.transaction).catch((error: unknown) => {
          if (!(error instanceof ReversalTargetMissingError)) throw error;
        });
        return { kind: 'resynced', refundId: succeeded.refundId, status: 'FAILED', changed: true, reversed: true };
      },
    }),
  });
  return Object.assign(world, { replays, refundResyncs, refunds });
}

function paymentDraft(paymentId: string, paymentIntentId: string, amountMinor: bigint, reference?: string) {
  const feeMinor = (amountMinor * 29n + 500n) / 1000n;
  const result = postPaymentSucceeded({
    paymentId,
    buyerId: 'buyer_1',
    currency: 'USD',
    amountMinor,
    pspPaymentIntentId: paymentIntentId,
    succeededAt: new Date(),
    orders: [{ paymentOrderId: `${paymentId}_o1`, sellerId: 'seller_1', amountMinor, feeMinor, netAmountMinor: amountMinor - feeMinor }],
  } as Parameters<typeof postPaymentSucceeded>[0]);
  if (result.kind !== 'post') throw new Error(`cannot build the payment draft: ${result.kind}`);
  return reference === undefined ? result.transaction : { ...result.transaction, reference };
}

let counter = 0;
/** Pays a payment intent at the PSP (API confirm with a test card); optionally a fee override first. */
async function payAtPsp(world: World, amountMinor: number, options: { feeMinor?: number; paymentMethod?: string } = {}): Promise<{ paymentId: string; paymentIntentId: string }> {
  counter += 1;
  const paymentId = `pay_rec_${counter}_${randomBytes(3).toString('hex')}`;
  const intent = await world.stripe.paymentIntents.create({ amount: amountMinor, currency: 'usd', metadata: { paymentId } });
  if (options.feeMinor !== undefined) {
    const response = await fetch(`${world.simulatorUrl}/__admin/payment_intents/${intent.id}/fee_override`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ feeMinor: options.feeMinor }),
    });
    expect(response.status).toBe(200);
  }
  const confirmed = await world.stripe.paymentIntents.confirm(intent.id, { payment_method: options.paymentMethod ?? 'pm_card_visa' });
  expect(confirmed.status).toBe('succeeded');
  return { paymentId, paymentIntentId: intent.id };
}

/** The normal path: the webhook arrived and the ledger posted payment.succeeded. */
async function payAndPost(world: World, amountMinor: number, options: { feeMinor?: number; paymentMethod?: string } = {}) {
  const paid = await payAtPsp(world, amountMinor, options);
  await postTransaction(world.db, paymentDraft(paid.paymentId, paid.paymentIntentId, BigInt(amountMinor)));
  return paid;
}

/**
 * A payment with Stripe's test card 4000 0000 0000 5126 (pm_card_refundFail), posted, and a
 * refund of it that succeeds at once (posted refund_succeeded, as payments announces it, unless
 * `refundPosted` is false: refund.succeeded never reached the ledger) and fails at the PSP after
 * the simulator's refundDelayMs (a refund_failure balance transaction).
 */
async function refundThatFails(world: World, paymentMinor: number, refundMinor: number, { refundPosted = true } = {}): Promise<RefundSucceededV1> {
  const paid = await payAndPost(world, paymentMinor, { paymentMethod: 'pm_card_refundFail' });
  const refundId = `rf_rec_${counter}_${randomBytes(3).toString('hex')}`;
  const atPsp = await world.stripe.refunds.create({ payment_intent: paid.paymentIntentId, amount: refundMinor, metadata: { refundId } });
  expect(atPsp.status).toBe('succeeded');
  const succeeded: RefundSucceededV1 = {
    refundId,
    paymentId: paid.paymentId,
    paymentOrderId: `${paid.paymentId}_o1`,
    sellerId: 'seller_1',
    currency: 'USD',
    amountMinor: BigInt(refundMinor),
    feePolicy: 'platform_keeps_fee',
    feeRefundMinor: 0n,
    pendingMinor: BigInt(refundMinor),
    availableMinor: 0n,
    pspRefundId: atPsp.id,
    refundedAt: new Date(),
  };
  const posting = postRefundSucceeded(succeeded);
  if (posting.kind !== 'post') throw new Error(`cannot build the refund posting: ${posting.kind}`);
  if (refundPosted) await postTransaction(world.db, posting.transaction);
  world.refunds.set(atPsp.id, succeeded);
  let status = atPsp.status;
  for (let attempt = 0; attempt < 100 && status !== 'failed'; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 50));
    status = (await world.stripe.refunds.retrieve(atPsp.id)).status;
  }
  expect(status).toBe('failed');
  return succeeded;
}

/** The normal path: refund.reversed@1 reached the ledger (refund_reversed, `amountMinor` if given instead of the refund's). */
async function postReversal(world: World, refund: RefundSucceededV1, amountMinor = refund.amountMinor): Promise<void> {
  const reversal = postRefundReversed({ ...refund, amountMinor, pendingMinor: amountMinor, failureReason: 'expired_or_canceled_card', reversedAt: new Date() });
  if (reversal.kind !== 'post') throw new Error(`cannot build the refund reversal: ${reversal.kind}`);
  await postTransaction(world.db, reversal.transaction);
}

const api = (world: World) => pspDayLoader({ kind: 'api', stripe: world.stripe });
const csvUrl = (world: World) => pspDayLoader({ kind: 'csv-url', url: `${world.simulatorUrl}/__admin/settlements/{date}.csv` });

async function feeBookings(world: World): Promise<number> {
  const rows = await world.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM journal_transactions WHERE kind = 'psp_fee_booked'`);
  return Number(rows[0]?.n ?? 0n);
}

describe('reconciliation of a clean day', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => world.stop());

  it('reconciles with zero discrepancies from both sources, books each PSP fee once, and a rerun reports the same', async () => {
    for (const amount of [10_000, 2_550, 99]) await payAndPost(world, amount);
    const today = utcDayOf(new Date());

    const first = await runReconciliation(world.deps, today, api(world));
    expect(first.run).toMatchObject({ status: 'COMPLETED', lineCount: 3, matchedCount: 3, attempts: 1, source: 'api' });
    expect(first.discrepancies).toEqual([]);
    expect(first.fixes.map((fix) => fix.type)).toEqual(['FEE_BOOKED', 'FEE_BOOKED', 'FEE_BOOKED']);
    expect(await feeBookings(world)).toBe(3);

    const again = await runReconciliation(world.deps, today, api(world));
    expect(again.run).toMatchObject({ id: first.run.id, status: 'COMPLETED', matchedCount: 3, attempts: 2 });
    expect(again.discrepancies).toEqual([]);
    expect(again.fixes).toEqual([]);

    const fromCsv = await runReconciliation(world.deps, today, csvUrl(world));
    expect(fromCsv.run).toMatchObject({ status: 'COMPLETED', source: 'csv', lineCount: 3, matchedCount: 3 });
    expect(fromCsv.discrepancies).toEqual([]);
    expect(await feeBookings(world)).toBe(3);
    expect(world.replays).toEqual([]);
  });
});

describe('reconciliation of a day with problems', () => {
  let world: World;
  let today: string;
  beforeAll(async () => {
    world = await startWorld();
    today = utcDayOf(new Date());
  });
  afterAll(async () => world.stop());

  it('rejects a malformed file, naming line and column, and ingests nothing', async () => {
    const path = join(tmpdir(), `settlement-${randomBytes(4).toString('hex')}.csv`);
    const header = 'balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,payment_intent_id,description';
    const at = `${today}T10:00:00Z`;
    await writeFile(path, [header, `txn_ok,${at},${at},usd,1.00,0.33,0.67,charge,ch_x,pi_x,`, `txn_bad,${at},${at},usd,1.00,abc,0.67,charge,ch_y,pi_y,`, ''].join('\n'));
    const failure = runReconciliation(world.deps, today, pspDayLoader({ kind: 'csv-file', path }));
    await expect(failure).rejects.toBeInstanceOf(IngestionError);
    await expect(failure).rejects.toThrow(/line 3, column fee/);
    expect(await countLines(world.db, today)).toBe(0);
    expect(await discrepanciesOfDay(world.db, today)).toEqual([]);
    const runs = await world.prisma.reconciliationRun.findMany();
    expect(runs).toEqual([expect.objectContaining({ status: 'FAILED', lineCount: 0 })]);
  });

  it('replays a dropped webhook, flags fee, unknown adjustment and duplicate; reruns add nothing; ops resolve with corrections', async () => {
    const clean = await payAndPost(world, 4_000);
    const dropped = await payAtPsp(world, 7_500); // paid at the PSP; the webhook never came
    const feeDiffers = await payAndPost(world, 10_000, { feeMinor: 500 });
    const duplicated = await payAndPost(world, 3_000);
    await postTransaction(world.db, paymentDraft(duplicated.paymentId, duplicated.paymentIntentId, 3_000n, `payment_succeeded:${duplicated.paymentId}:forced-copy`));
    const adjustment = await fetch(`${world.simulatorUrl}/__admin/adjustments`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ amount: -1_234, currency: 'usd', description: 'mystery adjustment' }),
    });
    expect(adjustment.status).toBe(200);
    const adjustmentId = ((await adjustment.json()) as { id: string }).id;

    const first = await runReconciliation(world.deps, today, api(world));
    expect(first.run.status).toBe('COMPLETED');
    const found = first.discrepancies.map((row) => ({ kind: row.kind, category: row.category, status: row.status, pspReference: row.pspReference }));
    expect(found).toEqual(
      expect.arrayContaining([
        { kind: 'MISSING_IN_LEDGER', category: 'AUTO_FIXED', status: 'RESOLVED', pspReference: dropped.paymentIntentId },
        { kind: 'FEE_MISMATCH', category: 'MANUAL_REVIEW', status: 'OPEN', pspReference: feeDiffers.paymentIntentId },
        { kind: 'DUPLICATE', category: 'MANUAL_REVIEW', status: 'OPEN', pspReference: duplicated.paymentIntentId },
        { kind: 'MISSING_IN_LEDGER', category: 'UNCLASSIFIED', status: 'OPEN', pspReference: adjustmentId },
      ]),
    );
    expect(found).toHaveLength(4);
    expect(found.some((row) => row.pspReference === clean.paymentIntentId)).toBe(false);
    expect(world.replays).toEqual([dropped.paymentIntentId]);
    expect(first.fixes).toEqual(expect.arrayContaining([expect.objectContaining({ type: 'PAYMENT_REPLAYED', pspReference: dropped.paymentIntentId })]));
    const fee = first.discrepancies.find((row) => row.kind === 'FEE_MISMATCH')!;
    expect(fee).toMatchObject({ expectedMinor: 320n, actualMinor: 500n, currency: 'USD' });
    // Fees: clean, dropped (its fee is on schedule) and duplicated booked; the differing one not.
    expect(await feeBookings(world)).toBe(3);

    // The same day again: the same discrepancies, nothing new booked, the replay now matched.
    const again = await runReconciliation(world.deps, today, csvUrl(world));
    expect(again.discrepancies.map((row) => row.id).sort()).toEqual(first.discrepancies.map((row) => row.id).sort());
    expect(await feeBookings(world)).toBe(3);
    expect(world.replays).toHaveLength(1);
    const apiAgain = await runReconciliation(world.deps, today, api(world));
    expect(apiAgain.discrepancies).toHaveLength(4);
    expect(apiAgain.run.attempts).toBe(2);

    // Ops: book the PSP's fee (FEE_MISMATCH) and reverse the forced copy (DUPLICATE), idempotently.
    const input = { idempotencyKey: `resolve-fee-${fee.id}`, discrepancyId: fee.id, note: 'PSP confirmed the negotiated fee; booking it', correction: 'BOOK_PSP_FEE' as const };
    expect(await resolveDiscrepancy({ db: world.db, hotAccountShards: 4 }, OPS, input)).toEqual({ discrepancyId: fee.id, replayed: false });
    expect(await resolveDiscrepancy({ db: world.db, hotAccountShards: 4 }, OPS, input)).toEqual({ discrepancyId: fee.id, replayed: true });
    expect(await feeBookings(world)).toBe(4);
    const duplicate = first.discrepancies.find((row) => row.kind === 'DUPLICATE')!;
    await resolveDiscrepancy({ db: world.db, hotAccountShards: 4 }, OPS, {
      idempotencyKey: `resolve-dup-${duplicate.id}`,
      discrepancyId: duplicate.id,
      note: 'forced copy of the posting; reversed',
      correction: 'REVERSE_LEDGER_TRANSACTION',
    });
    await expect(resolveDiscrepancy({ db: world.db, hotAccountShards: 4 }, { role: 'platform', keyId: 'p', sellerId: null }, { idempotencyKey: 'x', discrepancyId: duplicate.id, note: 'n' })).rejects.toMatchObject({ code: 'FORBIDDEN' });
    await expect(resolveDiscrepancy({ db: world.db, hotAccountShards: 4 }, systemCaller('t'), { idempotencyKey: 'y', discrepancyId: duplicate.id, note: 'again' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    const reversal = await world.prisma.journalTransaction.findUnique({ where: { reference: `reversal:payment_succeeded:${duplicated.paymentId}:forced-copy` } });
    expect(reversal?.kind).toBe('reversal');

    // After the corrections: nothing new, the resolved ones stay (never deleted), all but the adjustment resolved.
    const after = await runReconciliation(world.deps, today, api(world));
    expect(after.discrepancies).toHaveLength(4);
    expect(after.discrepancies.filter((row) => row.status === 'OPEN').map((row) => row.pspReference)).toEqual([adjustmentId]);
    expect(after.run.matchedCount).toBe(after.run.lineCount - 1);
    await expect(world.prisma.$executeRawUnsafe(`DELETE FROM discrepancies`)).rejects.toThrow(/forbidden/);
  });
});

describe('a re-run of a completed day that fails', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => world.stop());

  it('keeps the COMPLETED report and its discrepancies, records the failed attempt and throws IngestionError', async () => {
    await payAndPost(world, 4_000);
    await payAtPsp(world, 7_500); // the webhook never came: replayed, an automatic fix in the report
    const feeDiffers = await payAndPost(world, 10_000, { feeMinor: 500 });
    const today = utcDayOf(new Date());
    const completed = await runReconciliation(world.deps, today, api(world));
    expect(completed.run).toMatchObject({ status: 'COMPLETED', lineCount: 3, matchedCount: 1, attempts: 1, error: null });
    expect(completed.run.report).toMatchObject({ lines: 3, matched: 1, paymentsReplayed: 1 });
    expect(completed.discrepancies.map((row) => [row.kind, row.pspReference])).toEqual(expect.arrayContaining([['FEE_MISMATCH', feeDiffers.paymentIntentId]]));
    const bookedBefore = await feeBookings(world);

    // The PSP answers every API call with an error (the SDK's retries included).
    await setSimulatorFaults(world.simulatorUrl, { apiErrorRate: 1 });
    try {
      await expect(runReconciliation(world.deps, today, api(world))).rejects.toBeInstanceOf(IngestionError);
    } finally {
      await setSimulatorFaults(world.simulatorUrl, null);
    }
    // The PSP cannot be reached at all.
    const unreachable = createReconciliationStripe({ apiKey: 'sk_test_reconciliation', apiBase: 'http://127.0.0.1:9', timeoutMs: 1_000 });
    await expect(runReconciliation(world.deps, today, pspDayLoader({ kind: 'api', stripe: unreachable }))).rejects.toBeInstanceOf(IngestionError);

    const after = await findRun(world.db, completed.run.id);
    expect(after).toMatchObject({
      status: 'COMPLETED',
      lineCount: completed.run.lineCount,
      matchedCount: completed.run.matchedCount,
      report: completed.run.report,
      finishedAt: completed.run.finishedAt,
      attempts: 3,
      error: expect.stringMatching(/attempt 3 failed: balance transactions API: /),
    });
    expect(await discrepanciesOfDay(world.db, today)).toEqual(completed.discrepancies);
    expect(await countLines(world.db, today)).toBe(3);
    expect(await feeBookings(world)).toBe(bookedBefore);

    // Once the PSP answers again, the next run completes and clears the error (the replayed payment now matches).
    const recovered = await runReconciliation(world.deps, today, api(world));
    expect(recovered.run).toMatchObject({ id: completed.run.id, status: 'COMPLETED', lineCount: 3, matchedCount: 2, attempts: 4, error: null });
    expect(recovered.discrepancies.map((row) => row.id)).toEqual(completed.discrepancies.map((row) => row.id));
  });

  it('stays COMPLETED when a re-run crashed mid-run and the attempt that took it over fails', async () => {
    const day = '2020-01-02';
    const at = `${day}T10:00:00Z`;
    const path = join(tmpdir(), `settlement-${randomBytes(4).toString('hex')}.csv`);
    const header = 'balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,payment_intent_id,description';
    await writeFile(path, [header, `txn_takeover_1,${at},${at},usd,-12.34,0.00,-12.34,other_adjustment,,,mystery`, ''].join('\n'));
    const file = pspDayLoader({ kind: 'csv-file', path });
    const completed = await runReconciliation(world.deps, day, file);
    expect(completed.run).toMatchObject({ status: 'COMPLETED', lineCount: 1, matchedCount: 0, attempts: 1, error: null });
    expect(completed.discrepancies).toEqual([expect.objectContaining({ kind: 'MISSING_IN_LEDGER', pspReference: 'txn_takeover_1' })]);

    // Two re-runs whose processes died mid-run (claimed, never finished), the second having taken
    // over the first once it was stale: the completed report stays readable meanwhile.
    for (const attempts of [2, 3]) {
      const crashed = await claimRun(world.db, day, 'csv', world.deps.runStaleAfterMs);
      expect(crashed).toMatchObject({ id: completed.run.id, status: 'RUNNING', attempts });
      expect(await findRun(world.db, crashed.id)).toMatchObject({ status: 'RUNNING', lineCount: 1, report: completed.run.report });
      await ageRunPastStale(world, crashed.id);
    }
    // The attempt that takes the stale one over cannot read the file.
    const missing = pspDayLoader({ kind: 'csv-file', path: `${path}.missing` });
    await expect(runReconciliation(world.deps, day, missing)).rejects.toBeInstanceOf(IngestionError);

    expect(await findRun(world.db, completed.run.id)).toMatchObject({
      status: 'COMPLETED',
      lineCount: 1,
      matchedCount: 0,
      report: completed.run.report,
      finishedAt: completed.run.finishedAt,
      attempts: 4,
      error: expect.stringMatching(/^attempt 4 failed: /),
    });
    expect(await discrepanciesOfDay(world.db, day)).toEqual(completed.discrepancies);

    const recovered = await runReconciliation(world.deps, day, file);
    expect(recovered.run).toMatchObject({ id: completed.run.id, status: 'COMPLETED', lineCount: 1, attempts: 5, error: null });
    expect(recovered.run.finishedAt!.getTime()).toBeGreaterThan(completed.run.finishedAt!.getTime());
  });

  it('a failed first run of a day is still FAILED', async () => {
    const day = '2020-01-01';
    const unreachable = createReconciliationStripe({ apiKey: 'sk_test_reconciliation', apiBase: 'http://127.0.0.1:9', timeoutMs: 1_000 });
    await expect(runReconciliation(world.deps, day, pspDayLoader({ kind: 'api', stripe: unreachable }))).rejects.toBeInstanceOf(IngestionError);
    const runs = await world.prisma.reconciliationRun.findMany({ where: { date: day } });
    expect(runs).toEqual([expect.objectContaining({ status: 'FAILED', lineCount: 0, attempts: 1, error: expect.stringMatching(/balance transactions API/) })]);
  });
});

describe('an attempt taken over because it was slow, not dead', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => world.stop());

  /** A settlement file of the day with one unknown adjustment of 1.00 per balance transaction id. */
  const adjustments = (day: string, ids: readonly string[]) =>
    settlementFile(day, ids.map((id) => ({ id, category: 'other_adjustment', grossMinor: -100n, description: 'mystery' })));

  it.each([
    ['completes', '2020-02-01', 'load'],
    ['fails', '2020-02-02', 'fail'],
  ] as const)('the slow attempt that %s after the newer one completed changes nothing in the run', async (_ending, day, ending) => {
    const slow = heldUntilReleased(await adjustments(day, [`txn_${day}_1`]));
    const first = runReconciliation(world.deps, day, slow.loader).then(
      (result) => result,
      (error: unknown) => error,
    );
    await slow.started;
    const running = (await world.prisma.reconciliationRun.findMany({ where: { date: day } }))[0]!;
    expect(running).toMatchObject({ status: 'RUNNING', attempts: 1 });
    await ageRunPastStale(world, running.id);

    const second = await runReconciliation(world.deps, day, await adjustments(day, [`txn_${day}_1`, `txn_${day}_2`]));
    expect(second.run).toMatchObject({ id: running.id, status: 'COMPLETED', lineCount: 2, attempts: 2, error: null });

    slow.release(ending);
    const late = await first;
    expect(await findRun(world.db, running.id)).toEqual(second.run);
    if (ending === 'load') {
      expect(late).toBeInstanceOf(RunSupersededError);
      expect(late).toMatchObject({ message: expect.stringMatching(/attempt 1 was superseded by attempt 2 \(COMPLETED\)/) });
    } else {
      expect(late).toBeInstanceOf(IngestionError);
    }
  });

  /** Payments' replay route answering that it cannot settle the intent; held until released if asked. */
  function replayerThatFails(hold?: Promise<void>): { replayer: PaymentReplayer; asked: Promise<void> } {
    let ask!: () => void;
    const asked = new Promise<void>((resolve) => (ask = resolve));
    const replayer: PaymentReplayer = {
      async replay() {
        ask();
        await hold;
        return { kind: 'failed', reason: 'payments did not answer' };
      },
      async resyncRefund() {
        return { kind: 'failed', reason: 'payments did not answer' };
      },
    };
    return { replayer, asked };
  }

  async function linesOfDay(day: string): Promise<[string, string, string][]> {
    const rows = await world.prisma.$queryRawUnsafe<{ id: string; gross: string; fee: string }[]>(
      `SELECT balance_transaction_id AS id, gross_minor::text AS gross, fee_minor::text AS fee FROM psp_settlement_lines WHERE date = $1 ORDER BY balance_transaction_id`,
      day,
    );
    return rows.map((row) => [row.id, row.gross, row.fee]);
  }

  async function feesBooked(tag: string): Promise<string[]> {
    const rows = await world.prisma.$queryRawUnsafe<{ reference: string }[]>(
      `SELECT reference FROM journal_transactions WHERE kind = 'psp_fee_booked' AND reference LIKE $1 ORDER BY reference`,
      `psp_fee_booked:txn_${tag}_%`,
    );
    return rows.map((row) => row.reference);
  }

  it.each([
    ['at its load', '2020-02-03', 'load'],
    ['after booking fees, at its replay', '2020-02-04', 'replay'],
  ] as const)(
    'a slow attempt taken over %s, whose PSP data differed, leaves the day the newer attempt\'s lines and discrepancies only; fees are booked once',
    async (_where, day, heldAt) => {
      const tag = day.replaceAll('-', '');
      // Two payments the ledger posted (each charge line's fee follows the schedule: booked).
      for (const [name, amountMinor] of [['a', 1_000n], ['d', 4_000n]] as const) {
        await postTransaction(world.db, paymentDraft(`pay_${tag}_${name}`, `pi_${tag}_${name}`, amountMinor));
      }
      const charge = (name: string, grossMinor: bigint) => ({
        id: `txn_${tag}_${name}`,
        category: 'charge',
        grossMinor,
        feeMinor: (grossMinor * 290n + 5_000n) / 10_000n + 30n,
        sourceId: `ch_${tag}_${name}`,
        paymentIntentId: `pi_${tag}_${name}`,
      });
      const adjustment = (name: string, grossMinor: bigint) => ({ id: `txn_${tag}_${name}`, category: 'other_adjustment', grossMinor, description: 'mystery' });
      // What the PSP reported to the slow attempt, and to the newer one: charge c (a payment the
      // ledger missed: replayed) in both; the adjustment's amount changed; the newer saw charge d
      // and no longer the adjustment `gone`.
      const older = await settlementFile(day, [charge('a', 1_000n), charge('c', 3_000n), adjustment('adj', -100n), adjustment('gone', -300n)]);
      const newer = await settlementFile(day, [charge('a', 1_000n), charge('c', 3_000n), adjustment('adj', -200n), charge('d', 4_000n)]);

      let releaseReplay!: () => void;
      const replayHeld = new Promise<void>((resolve) => (releaseReplay = resolve));
      const slowLoad = heldUntilReleased(older);
      const slowReplay = replayerThatFails(heldAt === 'replay' ? replayHeld : undefined);
      const first = runReconciliation({ ...world.deps, replayer: slowReplay.replayer }, day, heldAt === 'load' ? slowLoad.loader : older).then(
        (result) => result,
        (error: unknown) => error,
      );
      await (heldAt === 'load' ? slowLoad.started : slowReplay.asked);
      const running = (await world.prisma.reconciliationRun.findMany({ where: { date: day } }))[0]!;
      expect(running).toMatchObject({ status: 'RUNNING', attempts: 1 });
      await ageRunPastStale(world, running.id);

      const deps = { ...world.deps, replayer: replayerThatFails().replayer };
      const second = await runReconciliation(deps, day, newer);
      expect(second.run).toMatchObject({ id: running.id, status: 'COMPLETED', lineCount: 4, matchedCount: 2, attempts: 2, error: null });
      const expectedLines = [
        [`txn_${tag}_a`, '1000', '59'],
        [`txn_${tag}_adj`, '-200', '0'],
        [`txn_${tag}_c`, '3000', '117'],
        [`txn_${tag}_d`, '4000', '146'],
      ];
      expect(await linesOfDay(day)).toEqual(expectedLines);

      // The slow attempt goes on with what it had read, and learns it was superseded.
      slowLoad.release('load');
      releaseReplay();
      const late = await first;
      expect(late).toBeInstanceOf(RunSupersededError);
      expect(await findRun(world.db, running.id)).toEqual(second.run);
      expect(await linesOfDay(day)).toEqual(expectedLines);
      expect(await countLines(world.db, day)).toBe(second.run.lineCount);
      expect(await discrepanciesOfDay(world.db, day)).toEqual(second.discrepancies);
      expect(second.discrepancies.map((row) => [row.kind, row.pspReference, row.actualMinor])).toEqual(
        expect.arrayContaining([
          ['MISSING_IN_LEDGER', `pi_${tag}_c`, 3_000n],
          ['MISSING_IN_LEDGER', `txn_${tag}_adj`, -200n],
        ]),
      );
      expect(second.discrepancies).toHaveLength(2);
      const booked = [`psp_fee_booked:txn_${tag}_a`, `psp_fee_booked:txn_${tag}_c`, `psp_fee_booked:txn_${tag}_d`];
      expect(await feesBooked(tag)).toEqual(booked);

      // Once more: the same lines, the same discrepancies, nothing booked again.
      const third = await runReconciliation(deps, day, newer);
      expect(third.run).toMatchObject({ status: 'COMPLETED', lineCount: 4, attempts: 3 });
      expect(third.fixes).toEqual([]);
      expect(third.discrepancies.map((row) => row.id)).toEqual(second.discrepancies.map((row) => row.id));
      expect(await linesOfDay(day)).toEqual(expectedLines);
      expect(await feesBooked(tag)).toEqual(booked);
    },
  );
});

describe('a day whose PSP data changed between two completed runs', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => world.stop());

  it('keeps as the day\'s lines only those of the last completed attempt; a line no longer reported stays as evidence, and its fee cannot be booked', async () => {
    const day = '2020-02-05';
    await postTransaction(world.db, paymentDraft('pay_20200205_b', 'pi_20200205_b', 2_000n));
    const charge = { id: 'txn_20200205_b', category: 'charge', grossMinor: 2_000n, feeMinor: 99n, sourceId: 'ch_20200205_b', paymentIntentId: 'pi_20200205_b' };
    const adjustment = (id: string, grossMinor: bigint) => ({ id, category: 'other_adjustment', grossMinor, description: 'mystery' });

    const first = await runReconciliation(world.deps, day, await settlementFile(day, [charge, adjustment('txn_20200205_x', -400n)]));
    expect(first.run).toMatchObject({ status: 'COMPLETED', lineCount: 2, attempts: 1 });
    const feeMismatch = first.discrepancies.find((row) => row.kind === 'FEE_MISMATCH');
    expect(feeMismatch).toMatchObject({ balanceTransactionId: charge.id, status: 'OPEN', expectedMinor: 88n, actualMinor: 99n });

    // The settlement file of the day was regenerated: the charge is gone, the adjustment changed, another came.
    const second = await runReconciliation(world.deps, day, await settlementFile(day, [adjustment('txn_20200205_x', -500n), adjustment('txn_20200205_y', -50n)]));
    expect(second.run).toMatchObject({ status: 'COMPLETED', lineCount: 2, attempts: 2 });
    expect(await countLines(world.db, day)).toBe(2);
    const stored = await world.prisma.$queryRawUnsafe<{ id: string; gross: string }[]>(
      `SELECT balance_transaction_id AS id, gross_minor::text AS gross FROM psp_settlement_lines WHERE date = $1 ORDER BY balance_transaction_id`,
      day,
    );
    // The charge line stays stored (lines are never deleted) but is no longer among the day's.
    expect(stored).toEqual([
      { id: 'txn_20200205_b', gross: '2000' },
      { id: 'txn_20200205_x', gross: '-500' },
      { id: 'txn_20200205_y', gross: '-50' },
    ]);

    const journalBefore = await world.prisma.journalTransaction.count();
    const booking = resolveDiscrepancy({ db: world.db, hotAccountShards: 4 }, OPS, {
      idempotencyKey: 'book-withdrawn-line',
      discrepancyId: feeMismatch!.id,
      note: 'book the PSP fee',
      correction: 'BOOK_PSP_FEE',
    });
    await expect(booking).rejects.toMatchObject({ code: 'INVALID_STATE', message: expect.stringMatching(/txn_20200205_b is not among the PSP lines of 2020-02-05/) });
    expect(await world.prisma.journalTransaction.count()).toBe(journalBefore);
    expect(await findDiscrepancy(world.db, feeMismatch!.id)).toMatchObject({ status: 'OPEN', correctionReference: null });
  });
});

describe('a refund that failed at the PSP after it succeeded (card 4000 0000 0000 5126)', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => world.stop());

  it('matches refund_failure lines to refund_reversed; a missing one is re-synced through payments (AUTO_FIXED), another amount flagged', async () => {
    const reversed = await refundThatFails(world, 6_000, 2_500);
    await postReversal(world, reversed);
    const missed = await refundThatFails(world, 5_000, 5_000); // refund.failed never reached payments
    const differs = await refundThatFails(world, 4_000, 1_000);
    await postReversal(world, differs, 900n);
    const today = utcDayOf(new Date());

    const first = await runReconciliation(world.deps, today, api(world));
    // Per payment: the charge, the refund and its refund_failure.
    expect(first.run).toMatchObject({ status: 'COMPLETED', lineCount: 9, matchedCount: 7 });
    const found = first.discrepancies.map((row) => ({ kind: row.kind, category: row.category, status: row.status, rule: row.rule, pspReference: row.pspReference }));
    expect(found).toEqual(
      expect.arrayContaining([
        { kind: 'MISSING_IN_LEDGER', category: 'AUTO_FIXED', status: 'RESOLVED', rule: 'refund_failure.missing_in_ledger.resynced', pspReference: missed.pspRefundId },
        { kind: 'AMOUNT_MISMATCH', category: 'MANUAL_REVIEW', status: 'OPEN', rule: 'refund_failure.amount_differs', pspReference: differs.pspRefundId },
      ]),
    );
    expect(found).toHaveLength(2);
    expect(first.discrepancies.find((row) => row.kind === 'AMOUNT_MISMATCH')).toMatchObject({ ledgerReference: `refund_reversed:${differs.refundId}`, currency: 'USD', expectedMinor: 900n, actualMinor: 1_000n });
    expect(first.discrepancies.find((row) => row.kind === 'MISSING_IN_LEDGER')).toMatchObject({ actualMinor: 5_000n, detail: expect.objectContaining({ pspRefundId: missed.pspRefundId, refundId: missed.refundId }) });
    expect(world.refundResyncs).toEqual([missed.pspRefundId]);
    expect(world.replays).toEqual([]);
    expect(first.fixes.filter((fix) => fix.type !== 'FEE_BOOKED')).toEqual([
      { type: 'REFUND_RESYNCED', pspReference: missed.pspRefundId, ledgerReference: `refund_reversed:${missed.refundId}`, currency: 'USD', amountMinor: '5000', detail: `refund ${missed.refundId} FAILED` },
    ]);
    expect(first.run.report).toMatchObject({ refundsResynced: 1, paymentsReplayed: 0, feesBooked: 3 });
    const posted = await world.prisma.journalTransaction.findUnique({ where: { reference: `refund_reversed:${missed.refundId}` } });
    expect(posted?.kind).toBe('refund_reversed');

    // Again from the settlement file: the re-synced refund now matches (its refund line still
    // matches the refund_succeeded its refund_reversed reversed), nothing is re-synced twice.
    const again = await runReconciliation(world.deps, today, csvUrl(world));
    expect(again.run).toMatchObject({ status: 'COMPLETED', lineCount: 9, matchedCount: 8 });
    expect(again.discrepancies.map((row) => row.id)).toEqual(first.discrepancies.map((row) => row.id));
    expect(world.refundResyncs).toHaveLength(1);
  });
});

describe('a refund and its refund_failure both missing in the ledger', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => world.stop());

  it('reports each line, re-syncs the refund through payments, and a rerun adds nothing', async () => {
    // refund.succeeded never reached the ledger, nor did refund.failed reach payments.
    const lost = await refundThatFails(world, 5_000, 2_000, { refundPosted: false });
    const today = utcDayOf(new Date());

    const first = await runReconciliation(world.deps, today, api(world));
    // The charge matches; its refund and refund_failure lines, sharing the PSP refund id, do not.
    expect(first.run).toMatchObject({ status: 'COMPLETED', lineCount: 3, matchedCount: 1 });
    const byRule = (rows: typeof first.discrepancies) => [...rows].sort((a, b) => (a.rule < b.rule ? -1 : 1));
    const found = byRule(first.discrepancies).map((row) => ({ kind: row.kind, category: row.category, status: row.status, rule: row.rule, pspReference: row.pspReference }));
    expect(found).toEqual([
      { kind: 'MISSING_IN_LEDGER', category: 'MANUAL_REVIEW', status: 'OPEN', rule: 'refund.missing_in_ledger', pspReference: lost.pspRefundId },
      { kind: 'MISSING_IN_LEDGER', category: 'AUTO_FIXED', status: 'RESOLVED', rule: 'refund_failure.missing_in_ledger.resynced', pspReference: lost.pspRefundId },
    ]);
    expect(new Set(first.discrepancies.map((row) => row.balanceTransactionId)).size).toBe(2);
    expect(world.refundResyncs).toEqual([lost.pspRefundId]);
    expect(first.fixes.filter((fix) => fix.type !== 'FEE_BOOKED')).toEqual([expect.objectContaining({ type: 'REFUND_RESYNCED', pspReference: lost.pspRefundId, amountMinor: '2000' })]);
    expect(first.run.report).toMatchObject({ refundsResynced: 1, found: { 'kind.MISSING_IN_LEDGER': 2, 'category.MANUAL_REVIEW': 1, 'category.AUTO_FIXED': 1 } });

    // The same day again, from both sources: the same two discrepancies, none added.
    for (const loader of [api(world), csvUrl(world)]) {
      const again = await runReconciliation(world.deps, today, loader);
      expect(byRule(again.discrepancies).map((row) => [row.id, row.rule, row.status])).toEqual(byRule(first.discrepancies).map((row) => [row.id, row.rule, row.status]));
    }
    expect(world.refundResyncs.every((id) => id === lost.pspRefundId)).toBe(true);
  });
});

describe('a PSP fee booked for a line the recorded attempt does not have', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => world.stop());

  /** A charge line of `day` whose fee follows the schedule (booked by matching). */
  const scheduledCharge = (tag: string, name: string, grossMinor: bigint) => ({
    id: `txn_${tag}_${name}`,
    category: 'charge',
    grossMinor,
    feeMinor: (grossMinor * 290n + 5_000n) / 10_000n + 30n,
    sourceId: `ch_${tag}_${name}`,
    paymentIntentId: `pi_${tag}_${name}`,
  });

  /** The day's fee postings that are live (not reversed) and whose balance transaction is not among the day's lines. */
  async function orphanFees(day: string, tag: string): Promise<string[]> {
    const rows = await world.prisma.$queryRawUnsafe<{ reference: string }[]>(
      `SELECT t.reference FROM journal_transactions t
        WHERE t.kind = 'psp_fee_booked' AND t.reference LIKE $2
          AND NOT EXISTS (SELECT 1 FROM journal_transactions r WHERE r.reverses_transaction_id = t.id)
          AND NOT EXISTS (SELECT 1 FROM psp_settlement_lines l WHERE l.balance_transaction_id = t.metadata->>'balanceTransactionId' AND l.date = $1 AND l.withdrawn_at IS NULL)
        ORDER BY t.reference`,
      day,
      `psp_fee_booked:txn_${tag}_%`,
    );
    return rows.map((row) => row.reference);
  }

  it('a slow attempt that booked a fee for a charge only it saw: the newer attempt reports that fee (MISSING_AT_PSP), ops reverse it', async () => {
    const day = '2020-03-01';
    const tag = '20200301';
    for (const [name, amountMinor] of [['a', 1_000n], ['e', 2_000n]] as const) {
      await postTransaction(world.db, paymentDraft(`pay_${tag}_${name}`, `pi_${tag}_${name}`, amountMinor));
    }
    const mystery = { id: `txn_${tag}_adj`, category: 'other_adjustment', grossMinor: -100n, description: 'mystery' };
    // The slow attempt saw charge e too, which the newer one does not: it is held at the replay of
    // charge m (the ledger missed its payment), after it booked its fees.
    const older = await settlementFile(day, [scheduledCharge(tag, 'a', 1_000n), scheduledCharge(tag, 'e', 2_000n), scheduledCharge(tag, 'm', 500n), mystery]);
    const newer = await settlementFile(day, [scheduledCharge(tag, 'a', 1_000n), scheduledCharge(tag, 'm', 500n), mystery]);

    let releaseReplay!: () => void;
    const replayHeld = new Promise<void>((resolve) => (releaseReplay = resolve));
    let asked!: () => void;
    const replayAsked = new Promise<void>((resolve) => (asked = resolve));
    const heldReplayer: PaymentReplayer = {
      async replay() {
        asked();
        await replayHeld;
        return { kind: 'failed', reason: 'payments did not answer' };
      },
      async resyncRefund() {
        return { kind: 'failed', reason: 'payments did not answer' };
      },
    };
    const first = runReconciliation({ ...world.deps, replayer: heldReplayer }, day, older).then(
      (result) => result,
      (error: unknown) => error,
    );
    await replayAsked;
    const running = (await world.prisma.reconciliationRun.findMany({ where: { date: day } }))[0]!;
    await ageRunPastStale(world, running.id);
    const second = await runReconciliation({ ...world.deps, replayer: null }, day, newer);
    releaseReplay();
    expect(await first).toBeInstanceOf(RunSupersededError);
    expect(second.run).toMatchObject({ status: 'COMPLETED', attempts: 2, lineCount: 3 });

    // The slow attempt booked charge e's fee; the recorded day has no line e: the report points at it.
    const orphans = await orphanFees(day, tag);
    expect(orphans).toEqual([`psp_fee_booked:txn_${tag}_e`]);
    const pointing = second.discrepancies.filter((row) => row.ledgerReference === `psp_fee_booked:txn_${tag}_e`);
    expect(pointing).toEqual([
      expect.objectContaining({ kind: 'MISSING_AT_PSP', subject: 'psp_fee_booked', category: 'MANUAL_REVIEW', status: 'OPEN', pspReference: `txn_${tag}_e`, currency: 'USD', expectedMinor: 88n, actualMinor: null }),
    ]);

    // Ops reverse the fee (a compensating posting); the next run no longer reports an orphan, and adds nothing.
    await resolveDiscrepancy({ db: world.db, hotAccountShards: 4 }, OPS, {
      idempotencyKey: `reverse-orphan-fee-${tag}`,
      discrepancyId: pointing[0]!.id,
      note: 'the PSP no longer reports txn e; its fee is reversed',
      correction: 'REVERSE_LEDGER_TRANSACTION',
    });
    expect(await orphanFees(day, tag)).toEqual([]);
    const third = await runReconciliation({ ...world.deps, replayer: null }, day, newer);
    expect(third.discrepancies.map((row) => row.id).sort()).toEqual(second.discrepancies.map((row) => row.id).sort());
    expect(third.discrepancies.find((row) => row.id === pointing[0]!.id)).toMatchObject({ status: 'RESOLVED', correctionReference: `reversal:psp_fee_booked:txn_${tag}_e` });
  });

  it('a completed day whose PSP line is withdrawn by a later completed run: its booked fee is reported', async () => {
    const day = '2020-03-02';
    const tag = '20200302';
    await postTransaction(world.db, paymentDraft(`pay_${tag}_a`, `pi_${tag}_a`, 1_000n));
    await postTransaction(world.db, paymentDraft(`pay_${tag}_e`, `pi_${tag}_e`, 2_000n));
    const first = await runReconciliation(world.deps, day, await settlementFile(day, [scheduledCharge(tag, 'a', 1_000n), scheduledCharge(tag, 'e', 2_000n)]));
    expect(first.fixes.map((fix) => fix.ledgerReference).sort()).toEqual([`psp_fee_booked:txn_${tag}_a`, `psp_fee_booked:txn_${tag}_e`]);
    expect(first.discrepancies).toEqual([]);

    const second = await runReconciliation(world.deps, day, await settlementFile(day, [scheduledCharge(tag, 'a', 1_000n)]));
    expect(await orphanFees(day, tag)).toEqual([`psp_fee_booked:txn_${tag}_e`]);
    expect(second.discrepancies).toEqual([
      expect.objectContaining({ kind: 'MISSING_AT_PSP', subject: 'psp_fee_booked', pspReference: `txn_${tag}_e`, ledgerReference: `psp_fee_booked:txn_${tag}_e`, expectedMinor: 88n }),
    ]);
  });

  it('a slow attempt that books a fee after the newer attempt read the ledger: the fee is in the newer attempt\'s report, or not booked', async () => {
    const day = '2020-03-03';
    const tag = '20200303';
    for (const [name, amountMinor] of [['a', 1_000n], ['e', 2_000n]] as const) {
      await postTransaction(world.db, paymentDraft(`pay_${tag}_${name}`, `pi_${tag}_${name}`, amountMinor));
    }
    const newer = await settlementFile(day, [scheduledCharge(tag, 'a', 1_000n)]);
    // A first completed run booked charge a's fee: the newer attempt below books nothing.
    await runReconciliation(world.deps, day, newer);
    const older = await settlementFile(day, [scheduledCharge(tag, 'a', 1_000n), scheduledCharge(tag, 'e', 2_000n)]);

    // Hold every posting (a posting locks its accounts FOR UPDATE; plain reads go on).
    let releaseAccounts!: () => void;
    const accountsReleased = new Promise<void>((resolve) => (releaseAccounts = resolve));
    let locked!: () => void;
    const accountsLocked = new Promise<void>((resolve) => (locked = resolve));
    const holder = world.prisma.$transaction(
      async (tx) => {
        await tx.$executeRawUnsafe(`LOCK TABLE ledger_accounts IN EXCLUSIVE MODE`);
        locked();
        await accountsReleased;
      },
      { timeout: 60_000 },
    );
    await accountsLocked;
    const waiting = async (pattern: string): Promise<boolean> => {
      const rows = await world.prisma.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`, pattern);
      return Number(rows[0]?.n ?? 0n) > 0;
    };
    const until = async (condition: () => Promise<boolean>): Promise<void> => {
      for (let poll = 0; poll < 200; poll++) {
        if (await condition()) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error('condition not reached in 5 s');
    };

    const first = runReconciliation(world.deps, day, older).then(
      (result) => result,
      (error: unknown) => error,
    );
    // The slow attempt passed its attempt check and waits to book charge e's fee.
    await until(() => waiting('%ledger_post_transaction%'));
    // Taken over as stale at once (aging the run row would itself wait for the slow attempt's lock).
    let secondSettled = false;
    const second = runReconciliation({ ...world.deps, runStaleAfterMs: 0 }, day, newer).finally(() => (secondSettled = true));
    // The newer attempt either completes meanwhile, or waits for the slow attempt's booking.
    await until(async () => secondSettled || (await waiting('%reconciliation_runs%')));
    releaseAccounts();
    await holder;
    const recorded = await second;
    expect(await first).toBeInstanceOf(RunSupersededError);
    expect(recorded.run).toMatchObject({ status: 'COMPLETED', lineCount: 1 });

    // Either the fee of e was never booked, or the recorded report points at it.
    const orphans = await orphanFees(day, tag);
    const reported = recorded.discrepancies.filter((row) => row.kind === 'MISSING_AT_PSP' && row.subject === 'psp_fee_booked').map((row) => row.ledgerReference);
    expect(reported).toEqual(orphans);
  });
});

describe('a settlement file with an amount beyond what the ledger can hold', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => world.stop());

  it('is rejected at ingestion, naming line and column: no fee booked, no line stored', async () => {
    const day = '2020-03-04';
    await postTransaction(world.db, paymentDraft('pay_20200304_a', 'pi_20200304_a', 1_000n));
    const charge = { id: 'txn_20200304_a', category: 'charge', grossMinor: 1_000n, feeMinor: 59n, sourceId: 'ch_20200304_a', paymentIntentId: 'pi_20200304_a' };
    // 2^63 minor units: one more than a PostgreSQL bigint holds.
    const huge = { id: 'txn_20200304_huge', category: 'other_adjustment', grossMinor: 9_223_372_036_854_775_808n, description: 'mystery' };
    const journalBefore = await world.prisma.journalTransaction.count();

    const failure = runReconciliation(world.deps, day, await settlementFile(day, [charge, huge]));
    await expect(failure).rejects.toBeInstanceOf(IngestionError);
    await expect(failure).rejects.toThrow(/line 3, column gross/);
    expect(await world.prisma.journalTransaction.count()).toBe(journalBefore);
    expect(await countLines(world.db, day)).toBe(0);
    expect(await discrepanciesOfDay(world.db, day)).toEqual([]);
  });
});
