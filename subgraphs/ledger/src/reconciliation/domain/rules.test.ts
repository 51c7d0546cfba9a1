// The matching rules on hand-made lines and ledger views (pure, no I/O).
import { expectedPspFeeMinor, matchDay, type MatchOptions } from './rules.js';
import type { LedgerTxView, PspLine } from './types.js';

const DAY_START = new Date('2026-05-31T00:00:00Z');
const OPTIONS: MatchOptions = { dayStart: DAY_START, dayEnd: new Date('2026-06-01T00:00:00Z'), feeSchedule: { percentBps: 290n, fixedMinor: 30n }, boundaryGraceMs: 0 };
const AT = new Date('2026-05-31T12:00:00Z');

function charge(n: number, grossMinor: bigint, feeMinor = expectedPspFeeMinor(grossMinor, OPTIONS.feeSchedule)): PspLine {
  return { balanceTransactionId: `txn_${n}`, createdAt: AT, availableOn: null, currency: 'USD', grossMinor, feeMinor, netMinor: grossMinor - feeMinor, type: 'charge', reportingCategory: 'charge', sourceId: `ch_${n}`, paymentIntentId: `pi_${n}`, description: null };
}

function payment(n: number, amountMinor: bigint, reference = `payment_succeeded:pay_${n}`): LedgerTxView {
  return {
    id: `id_${reference}`, reference, kind: 'payment_succeeded', effectiveAt: AT, correlationId: `pay_${n}`, metadata: { pspPaymentIntentId: `pi_${n}`, pspChargeId: `ch_${n}` },
    currency: 'USD', pspReceivableDebitMinor: amountMinor, pspReceivableCreditMinor: 0n, disputesClearingCreditMinor: 0n, pspFeeExpenseDebitMinor: 0n,
  };
}

function fee(n: number, feeMinor: bigint): LedgerTxView {
  return {
    id: `fee_${n}`, reference: `psp_fee_booked:txn_${n}`, kind: 'psp_fee_booked', effectiveAt: AT, correlationId: `ch_${n}`, metadata: { sourceId: `ch_${n}`, balanceTransactionId: `txn_${n}` },
    currency: 'USD', pspReceivableDebitMinor: 0n, pspReceivableCreditMinor: feeMinor, disputesClearingCreditMinor: 0n, pspFeeExpenseDebitMinor: feeMinor,
  };
}

function refundLine(n: number, category: 'refund' | 'refund_failure', grossMinor: bigint): PspLine {
  return { balanceTransactionId: `txn_${category}_${n}`, createdAt: AT, availableOn: null, currency: 'USD', grossMinor, feeMinor: 0n, netMinor: grossMinor, type: category, reportingCategory: category, sourceId: `re_${n}`, paymentIntentId: `pi_${n}`, description: null };
}

/** refund_succeeded (CR psp_receivable) or refund_reversed (DR psp_receivable) of the PSP refund re_<n>. */
function refundPosting(n: number, kind: 'refund_succeeded' | 'refund_reversed', amountMinor: bigint): LedgerTxView {
  return {
    id: `${kind}_${n}`, reference: `${kind}:rf_${n}`, kind, effectiveAt: AT, correlationId: `pay_${n}`, metadata: { refundId: `rf_${n}`, pspRefundId: `re_${n}` },
    currency: 'USD', pspReceivableDebitMinor: kind === 'refund_reversed' ? amountMinor : 0n, pspReceivableCreditMinor: kind === 'refund_succeeded' ? amountMinor : 0n, disputesClearingCreditMinor: 0n, pspFeeExpenseDebitMinor: 0n,
  };
}

describe('matchDay', () => {
  it('expects 2.9 % half-up + 30 as the PSP fee', () => {
    expect(expectedPspFeeMinor(10_000n, OPTIONS.feeSchedule)).toBe(320n);
    expect(expectedPspFeeMinor(1_050n, OPTIONS.feeSchedule)).toBe(60n);
  });

  it('matches a posted charge and books its unbooked fee; a booked fee is not booked again', () => {
    const first = matchDay([charge(1, 10_000n)], [payment(1, 10_000n)], OPTIONS);
    expect(first).toMatchObject({ matchedCount: 1, findings: [] });
    expect(first.feeBookings).toEqual([expect.objectContaining({ balanceTransactionId: 'txn_1', feeMinor: 320n, sourceId: 'ch_1' })]);
    const second = matchDay([charge(1, 10_000n)], [payment(1, 10_000n), fee(1, 320n)], OPTIONS);
    expect(second).toMatchObject({ matchedCount: 1, findings: [], feeBookings: [] });
  });

  it('finds a charge missing in the ledger and asks for a replay', () => {
    const result = matchDay([charge(2, 5_000n)], [], OPTIONS);
    expect(result.findings).toEqual([expect.objectContaining({ kind: 'MISSING_IN_LEDGER', pspReference: 'pi_2', autoFix: { type: 'REPLAY_PAYMENT', paymentIntentId: 'pi_2' }, actualMinor: 5_000n })]);
  });

  it('flags a fee other than the schedule (not booked) and a fee other than the one booked', () => {
    const unbooked = matchDay([charge(3, 10_000n, 500n)], [payment(3, 10_000n)], OPTIONS);
    expect(unbooked.feeBookings).toEqual([]);
    expect(unbooked.findings).toEqual([expect.objectContaining({ kind: 'FEE_MISMATCH', category: 'MANUAL_REVIEW', expectedMinor: 320n, actualMinor: 500n })]);
    const booked = matchDay([charge(3, 10_000n, 320n)], [payment(3, 10_000n), fee(3, 300n)], OPTIONS);
    expect(booked.findings).toEqual([expect.objectContaining({ kind: 'FEE_MISMATCH', rule: 'charge.fee_differs_from_booked', expectedMinor: 300n, actualMinor: 320n })]);
  });

  it('flags amount differences, duplicates, unknown lines and postings the PSP never saw', () => {
    const adjustment: PspLine = { ...charge(9, -700n, 0n), reportingCategory: 'other_adjustment', type: 'adjustment', sourceId: null, paymentIntentId: null };
    const result = matchDay(
      [charge(4, 10_000n), charge(5, 2_000n), adjustment],
      [payment(4, 9_999n), payment(5, 2_000n), payment(5, 2_000n, 'payment_succeeded:pay_5:copy'), payment(6, 1_000n)],
      OPTIONS,
    );
    const byKind = Object.fromEntries(result.findings.map((item) => [item.kind, item]));
    expect(byKind.AMOUNT_MISMATCH).toMatchObject({ pspReference: 'pi_4', expectedMinor: 9_999n, actualMinor: 10_000n });
    expect(byKind.DUPLICATE).toMatchObject({ pspReference: 'pi_5', ledgerReference: 'payment_succeeded:pay_5:copy' });
    expect(byKind.MISSING_IN_LEDGER).toMatchObject({ category: 'UNCLASSIFIED', pspReference: 'txn_9' });
    expect(byKind.MISSING_AT_PSP).toMatchObject({ pspReference: 'pi_6', ledgerReference: 'payment_succeeded:pay_6', expectedMinor: 1_000n });
    expect(result.matchedCount).toBe(0);
  });

  it('matches a refund that failed at the PSP: the refund line to refund_succeeded, the refund_failure line to refund_reversed', () => {
    const result = matchDay([refundLine(7, 'refund', -2_500n), refundLine(7, 'refund_failure', 2_500n)], [refundPosting(7, 'refund_succeeded', 2_500n), refundPosting(7, 'refund_reversed', 2_500n)], OPTIONS);
    expect(result).toMatchObject({ matchedCount: 2, findings: [], feeBookings: [] });
  });

  it('finds a refund_failure line without its refund_reversed posting and asks payments to re-sync the refund', () => {
    const result = matchDay([refundLine(8, 'refund_failure', 2_500n)], [refundPosting(8, 'refund_succeeded', 2_500n)], OPTIONS);
    expect(result.matchedCount).toBe(0);
    expect(result.findings).toEqual([
      expect.objectContaining({
        kind: 'MISSING_IN_LEDGER',
        category: 'MANUAL_REVIEW',
        rule: 'refund_failure.missing_in_ledger',
        pspReference: 're_8',
        balanceTransactionId: 'txn_refund_failure_8',
        actualMinor: 2_500n,
        autoFix: { type: 'RESYNC_REFUND', pspRefundId: 're_8' },
      }),
    ]);
  });

  it('flags a refund_reversed posting of another amount or currency, and one the PSP has no refund_failure line for', () => {
    const amount = matchDay([refundLine(9, 'refund_failure', 2_500n)], [refundPosting(9, 'refund_reversed', 2_400n)], OPTIONS);
    expect(amount.findings).toEqual([
      expect.objectContaining({ kind: 'AMOUNT_MISMATCH', category: 'MANUAL_REVIEW', rule: 'refund_failure.amount_differs', pspReference: 're_9', ledgerReference: 'refund_reversed:rf_9', expectedMinor: 2_400n, actualMinor: 2_500n }),
    ]);
    const currency = matchDay([{ ...refundLine(10, 'refund_failure', 2_500n), currency: 'EUR' }], [refundPosting(10, 'refund_reversed', 2_500n)], OPTIONS);
    expect(currency.findings).toEqual([expect.objectContaining({ kind: 'AMOUNT_MISMATCH', rule: 'refund_failure.amount_differs', pspReference: 're_10' })]);
    const atPsp = matchDay([], [refundPosting(11, 'refund_reversed', 2_500n)], OPTIONS);
    expect(atPsp.findings).toEqual([
      expect.objectContaining({ kind: 'MISSING_AT_PSP', category: 'MANUAL_REVIEW', rule: 'refund_reversed.missing_at_psp', pspReference: 're_11', ledgerReference: 'refund_reversed:rf_11', expectedMinor: 2_500n }),
    ]);
  });

  it('keeps a finding per line when a refund and its refund_failure (or a payout and its payout_reversal) share the PSP id', () => {
    const refund = matchDay([refundLine(12, 'refund', -2_500n), refundLine(12, 'refund_failure', 2_500n)], [], OPTIONS);
    expect(refund.findings).toEqual([
      expect.objectContaining({ kind: 'MISSING_IN_LEDGER', rule: 'refund.missing_in_ledger', subject: 'refund', pspReference: 're_12', balanceTransactionId: 'txn_refund_12' }),
      expect.objectContaining({ kind: 'MISSING_IN_LEDGER', rule: 'refund_failure.missing_in_ledger', subject: 'refund_failure', pspReference: 're_12', balanceTransactionId: 'txn_refund_failure_12', autoFix: { type: 'RESYNC_REFUND', pspRefundId: 're_12' } }),
    ]);
    const payoutLine = (category: 'payout' | 'payout_reversal', grossMinor: bigint): PspLine => ({ ...refundLine(13, 'refund', grossMinor), balanceTransactionId: `txn_${category}_13`, type: category, reportingCategory: category, sourceId: 'po_13', paymentIntentId: null });
    const payout = matchDay([payoutLine('payout', -4_000n), payoutLine('payout_reversal', 4_000n)], [], OPTIONS);
    expect(payout.findings.map((item) => [item.kind, item.subject, item.rule, item.pspReference])).toEqual([
      ['MISSING_IN_LEDGER', 'payout', 'payout.missing_in_ledger', 'po_13'],
      ['MISSING_IN_LEDGER', 'payout_reversal', 'payout_reversal.missing_in_ledger', 'po_13'],
    ]);
    // The ledger's side: a refund_succeeded and its refund_reversed the PSP has no line for.
    const atPsp = matchDay([], [refundPosting(14, 'refund_succeeded', 2_500n), refundPosting(14, 'refund_reversed', 2_500n)], OPTIONS);
    expect(atPsp.findings.map((item) => [item.kind, item.subject, item.ledgerReference])).toEqual([
      ['MISSING_AT_PSP', 'refund_succeeded', 'refund_succeeded:rf_14'],
      ['MISSING_AT_PSP', 'refund_reversed', 'refund_reversed:rf_14'],
    ]);
    // The same line twice (a source that repeats it) is still one finding.
    expect(matchDay([refundLine(15, 'refund', -2_500n), refundLine(15, 'refund', -2_500n)], [], OPTIONS).findings).toHaveLength(1);
  });

  it('reports a fee booking of the day whose balance transaction is not among the day\'s lines (MISSING_AT_PSP), and only that', () => {
    const result = matchDay([charge(16, 10_000n)], [payment(16, 10_000n), fee(16, 320n), fee(17, 88n), { ...fee(18, 59n), effectiveAt: new Date('2026-05-30T23:59:59Z') }], OPTIONS);
    expect(result.feeBookings).toEqual([]);
    expect(result.matchedCount).toBe(1);
    expect(result.findings).toEqual([
      expect.objectContaining({
        kind: 'MISSING_AT_PSP',
        subject: 'psp_fee_booked',
        category: 'MANUAL_REVIEW',
        rule: 'psp_fee_booked.missing_at_psp',
        pspReference: 'txn_17',
        balanceTransactionId: 'txn_17',
        ledgerReference: 'psp_fee_booked:txn_17',
        currency: 'USD',
        expectedMinor: 88n,
        actualMinor: null,
      }),
    ]);
  });

  it('flags a negative fee on a charge: the ledger cannot book it and the PSP holds more than gross', () => {
    const result = matchDay([charge(19, 10_000n, -50n)], [payment(19, 10_000n)], OPTIONS);
    expect(result.feeBookings).toEqual([]);
    expect(result.matchedCount).toBe(0);
    expect(result.findings).toEqual([expect.objectContaining({ kind: 'FEE_MISMATCH', category: 'MANUAL_REVIEW', pspReference: 'pi_19', balanceTransactionId: 'txn_19', actualMinor: -50n })]);
  });

  it('flags a PSP fee on a refund or payout line: no posting books it, so psp_receivable would drift silently', () => {
    const refund = matchDay([{ ...refundLine(20, 'refund', -2_500n), feeMinor: 30n, netMinor: -2_530n }], [refundPosting(20, 'refund_succeeded', 2_500n)], OPTIONS);
    expect(refund.matchedCount).toBe(0);
    expect(refund.findings).toEqual([expect.objectContaining({ kind: 'FEE_MISMATCH', category: 'MANUAL_REVIEW', subject: 'refund', pspReference: 're_20', expectedMinor: 0n, actualMinor: 30n })]);
    const clean = matchDay([refundLine(21, 'refund', -2_500n)], [refundPosting(21, 'refund_succeeded', 2_500n)], OPTIONS);
    expect(clean).toMatchObject({ matchedCount: 1, findings: [] });
  });
});
