// The reconciliation rules, one small documented rule each. `expected` is always Clearhouse's
// side (the ledger posting, or our PSP fee schedule); `actual` is the PSP's figure.
//
// Lines (PSP → ledger), by the line's reporting category:
//   charge            → the payment_succeeded posting whose metadata names the payment intent
//                       (or the charge). None: MISSING_IN_LEDGER, auto-fixed by replaying the
//                       payment from the PSP's state through payments (the webhook was lost);
//                       AUTO_FIXED only when payments confirms the replay, else MANUAL_REVIEW,
//                       UNCLASSIFIED when payments does not know the intent. Two or more:
//                       DUPLICATE (MANUAL_REVIEW; resolve by reversing the extra posting).
//                       Other amount or currency: AMOUNT_MISMATCH (MANUAL_REVIEW).
//   charge fee        → the PSP fee is only known from its balance transaction, so the ledger
//                       books it here: postPspFeeBooked, reference psp_fee_booked:<txn id>, so
//                       a rerun never books twice. Booked only when the fee equals our expected
//                       schedule (RECONCILIATION_PSP_FEE_PERCENT_BPS / _FIXED_MINOR, default
//                       2.9 % half-up + 30); otherwise FEE_MISMATCH (MANUAL_REVIEW, nothing
//                       booked: ops books the PSP's fee with the BOOK_PSP_FEE correction, or
//                       disputes it with the PSP). A fee already booked for the charge that
//                       differs from the line: FEE_MISMATCH (MANUAL_REVIEW).
//   refund            → refund_succeeded by pspRefundId (also once a refund_reversed reversed it:
//                       the PSP did pay the refund out, and its refund_failure line brings it back).
//   refund_failure    → the refund failed at the PSP after it succeeded: refund_reversed by
//                       pspRefundId (amount: what it debited psp_receivable). None:
//                       MISSING_IN_LEDGER, auto-fixed by asking payments to re-sync the refund
//                       from the PSP (its refund.failed webhook was lost); AUTO_FIXED only when
//                       payments reports the refund reversed, else MANUAL_REVIEW, UNCLASSIFIED
//                       when payments does not know the refund. Amount or currency: AMOUNT_MISMATCH.
//   payout            → payout_paid by pspPayoutId (a failed payout: its payout_failed, which
//                       stands for the payout and its reversal); payout_reversal → payout_failed naming pspPayoutId
//                       (amount: the payout amount in its metadata); dispute → dispute_opened by
//                       pspDisputeId (amount and dispute fee compared); dispute_reversal →
//                       dispute_won of that dispute. Missing: MISSING_IN_LEDGER (MANUAL_REVIEW,
//                       no scripted fix); amount: AMOUNT_MISMATCH; dispute fee: FEE_MISMATCH.
//   other line fees   → refund, refund_failure, payout, payout_reversal, dispute_reversal lines
//                       carry no fee the ledger books: a non-zero one is FEE_MISMATCH
//                       (<kind>.fee_not_booked, MANUAL_REVIEW, expected 0). A negative charge fee
//                       is a FEE_MISMATCH too (a fee posting cannot book a credit).
//   anything else     → no rule knows it (e.g. an adjustment): MISSING_IN_LEDGER, UNCLASSIFIED.
// Ledger → PSP: payment_succeeded, refund_succeeded and refund_reversed postings effective on the
// day whose PSP object has no line that day: MISSING_AT_PSP (MANUAL_REVIEW). Postings within the
// boundary grace after midnight are skipped (their PSP line may be on the day before).
//   psp_fee_booked    → a fee booking effective on the day (it is effective when its balance
//                       transaction was created) whose balance transaction is not among the
//                       day's lines: MISSING_AT_PSP (MANUAL_REVIEW; resolve with correction
//                       REVERSE_LEDGER_TRANSACTION). An earlier attempt booked it from a line the
//                       PSP no longer reports (a regenerated file, or an attempt taken over):
//                       psp_fee_expense holds a fee no recorded line backs. No boundary grace:
//                       its effective time is the line's own.
// A finding is keyed by (kind, subject, PSP id), its subject being the line's kind (or the
// posting's kind for MISSING_AT_PSP): a refund line and its refund_failure line name the same PSP
// refund (a payout and its payout_reversal, a dispute and its dispute_reversal likewise), and
// each keeps its own finding, so the refund_failure's re-sync is asked for even when the refund
// line is missing too.
import { percentageOfMinor } from '@clearhouse/shared';
import type { FeeBooking, Finding, FindingSubject, LedgerTxView, MatchResult, PspLine, PspLineKind } from './types.js';

export interface PspFeeSchedule {
  readonly percentBps: bigint;
  readonly fixedMinor: bigint;
}

export interface MatchOptions {
  readonly dayStart: Date;
  readonly dayEnd: Date;
  readonly feeSchedule: PspFeeSchedule;
  readonly boundaryGraceMs: number;
}

/** The PSP's card fee as we expect it: amount × bps / 10 000 rounded half-up, plus the fixed part. */
export function expectedPspFeeMinor(grossMinor: bigint, schedule: PspFeeSchedule): bigint {
  if (grossMinor <= 0n) return 0n;
  return percentageOfMinor(grossMinor, schedule.percentBps, 'half-up') + schedule.fixedMinor;
}

export function lineKindOf(line: PspLine): PspLineKind {
  switch (line.reportingCategory) {
    case 'charge':
      return 'charge';
    case 'refund':
      return 'refund';
    case 'refund_failure':
      return 'refund_failure';
    case 'payout':
    case 'transfer':
      return 'payout';
    case 'payout_reversal':
      return 'payout_reversal';
    case 'dispute':
      return 'dispute';
    case 'dispute_reversal':
      return 'dispute_reversal';
    default:
      return 'unknown';
  }
}

const abs = (value: bigint): bigint => (value < 0n ? -value : value);

function metaString(tx: LedgerTxView, field: string): string | undefined {
  const value = tx.metadata[field];
  return typeof value === 'string' && value.length > 0 ? value : undefined;
}

function pushTo<K, V>(map: Map<K, V[]>, key: K | undefined, value: V): void {
  if (key === undefined) return;
  const list = map.get(key);
  if (list) {
    if (!list.includes(value)) list.push(value);
  } else map.set(key, [value]);
}

/** Ledger transactions indexed by the PSP ids their metadata names. */
export class LedgerIndex {
  readonly paymentsByPspId = new Map<string, LedgerTxView[]>();
  readonly refundsByPspId = new Map<string, LedgerTxView[]>();
  readonly refundsReversedByPspId = new Map<string, LedgerTxView[]>();
  readonly payoutsPaidByPspId = new Map<string, LedgerTxView[]>();
  readonly payoutsFailedByPspId = new Map<string, LedgerTxView[]>();
  readonly disputesOpenedByPspId = new Map<string, LedgerTxView[]>();
  readonly disputesWonByPspId = new Map<string, LedgerTxView[]>();
  readonly feesByReference = new Map<string, LedgerTxView>();
  readonly feesBySourceId = new Map<string, LedgerTxView[]>();

  constructor(readonly transactions: readonly LedgerTxView[]) {
    const pspDisputeIdByDisputeId = new Map<string, string>();
    for (const tx of transactions) {
      switch (tx.kind) {
        case 'payment_succeeded':
          pushTo(this.paymentsByPspId, metaString(tx, 'pspPaymentIntentId'), tx);
          pushTo(this.paymentsByPspId, metaString(tx, 'pspChargeId'), tx);
          break;
        case 'refund_succeeded':
          pushTo(this.refundsByPspId, metaString(tx, 'pspRefundId'), tx);
          break;
        case 'refund_reversed':
          pushTo(this.refundsReversedByPspId, metaString(tx, 'pspRefundId'), tx);
          break;
        case 'payout_paid':
          pushTo(this.payoutsPaidByPspId, metaString(tx, 'pspPayoutId'), tx);
          break;
        case 'payout_failed':
          pushTo(this.payoutsFailedByPspId, metaString(tx, 'pspPayoutId'), tx);
          break;
        case 'dispute_opened': {
          const pspDisputeId = metaString(tx, 'pspDisputeId');
          const disputeId = metaString(tx, 'disputeId');
          pushTo(this.disputesOpenedByPspId, pspDisputeId, tx);
          if (pspDisputeId !== undefined && disputeId !== undefined) pspDisputeIdByDisputeId.set(disputeId, pspDisputeId);
          break;
        }
        case 'psp_fee_booked':
          this.feesByReference.set(tx.reference, tx);
          pushTo(this.feesBySourceId, metaString(tx, 'sourceId') ?? tx.correlationId ?? undefined, tx);
          break;
        default:
          break;
      }
    }
    for (const tx of transactions) {
      if (tx.kind !== 'dispute_won') continue;
      const disputeId = metaString(tx, 'disputeId');
      pushTo(this.disputesWonByPspId, disputeId === undefined ? undefined : pspDisputeIdByDisputeId.get(disputeId), tx);
    }
  }
}

interface LineOutcome {
  findings: Finding[];
  feeBooking?: FeeBooking;
}

/** A finding about a PSP line: its subject is the line's kind. */
function finding(line: PspLine, fields: Omit<Finding, 'subject' | 'balanceTransactionId' | 'ledgerReference' | 'currency' | 'expectedMinor' | 'actualMinor'> & Partial<Finding>): Finding {
  return {
    subject: lineKindOf(line),
    balanceTransactionId: line.balanceTransactionId,
    ledgerReference: null,
    currency: line.currency,
    expectedMinor: null,
    actualMinor: null,
    ...fields,
  };
}

/** The PSP id a discrepancy about this line is keyed by. */
export function pspReferenceOf(line: PspLine): string {
  if (lineKindOf(line) === 'charge') return line.paymentIntentId ?? line.sourceId ?? line.balanceTransactionId;
  return line.sourceId ?? line.balanceTransactionId;
}

function checkChargeFee(line: PspLine, index: LedgerIndex, options: MatchOptions): LineOutcome {
  // A negative fee (the PSP credited us) is not skipped: no posting books it, yet the PSP holds it.
  if (line.feeMinor === 0n) return { findings: [] };
  const reference = `psp_fee_booked:${line.balanceTransactionId}`;
  const booked = index.feesByReference.get(reference) ?? (line.sourceId === null ? undefined : index.feesBySourceId.get(line.sourceId)?.[0]);
  const pspReference = pspReferenceOf(line);
  if (booked !== undefined) {
    const bookedMinor = booked.pspFeeExpenseDebitMinor;
    if (bookedMinor === line.feeMinor && booked.currency === line.currency) return { findings: [] };
    return {
      findings: [
        finding(line, {
          kind: 'FEE_MISMATCH',
          category: 'MANUAL_REVIEW',
          rule: 'charge.fee_differs_from_booked',
          pspReference,
          ledgerReference: booked.reference,
          expectedMinor: bookedMinor,
          actualMinor: line.feeMinor,
          note: `the PSP charged a fee of ${line.feeMinor} ${line.currency} on ${line.balanceTransactionId}; the ledger booked ${bookedMinor} ${booked.currency} (${booked.reference})`,
        }),
      ],
    };
  }
  const expectedMinor = expectedPspFeeMinor(line.grossMinor, options.feeSchedule);
  if (expectedMinor !== line.feeMinor) {
    return {
      findings: [
        finding(line, {
          kind: 'FEE_MISMATCH',
          category: 'MANUAL_REVIEW',
          rule: 'charge.fee_differs_from_schedule',
          pspReference,
          ledgerReference: reference,
          expectedMinor,
          actualMinor: line.feeMinor,
          note:
            line.feeMinor < 0n
              ? `the PSP reported a negative fee of ${line.feeMinor} ${line.currency} on ${line.balanceTransactionId} (our schedule expects ${expectedMinor}); a PSP fee posting cannot book it: take it up with the PSP`
              : `the PSP charged a fee of ${line.feeMinor} ${line.currency} on ${line.balanceTransactionId}; our schedule expects ${expectedMinor}. Not booked: resolve with correction BOOK_PSP_FEE to book the PSP's fee, or take it up with the PSP`,
        }),
      ],
    };
  }
  const sourceId = line.sourceId ?? line.paymentIntentId ?? line.balanceTransactionId;
  return { findings: [], feeBooking: { balanceTransactionId: line.balanceTransactionId, sourceId, currency: line.currency, feeMinor: line.feeMinor, bookedAt: line.createdAt } };
}

function matchCharge(line: PspLine, index: LedgerIndex, options: MatchOptions): LineOutcome {
  const pspReference = pspReferenceOf(line);
  const candidates: LedgerTxView[] = [];
  for (const key of [line.paymentIntentId, line.sourceId]) {
    for (const tx of (key === null ? undefined : index.paymentsByPspId.get(key)) ?? []) if (!candidates.includes(tx)) candidates.push(tx);
  }
  const fee = checkChargeFee(line, index, options);
  const findings = [...fee.findings];
  if (candidates.length === 0) {
    findings.push(
      finding(line, {
        kind: 'MISSING_IN_LEDGER',
        category: 'MANUAL_REVIEW',
        rule: 'charge.missing_in_ledger',
        pspReference,
        actualMinor: line.grossMinor,
        note: `the PSP charged ${line.grossMinor} ${line.currency} (${line.sourceId ?? line.balanceTransactionId}) and the ledger has no payment_succeeded posting for it`,
        ...(line.paymentIntentId === null ? {} : { autoFix: { type: 'REPLAY_PAYMENT' as const, paymentIntentId: line.paymentIntentId } }),
      }),
    );
  } else if (candidates.length > 1) {
    const ordered = [...candidates].sort((a, b) => a.effectiveAt.getTime() - b.effectiveAt.getTime() || a.reference.localeCompare(b.reference));
    const canonical = ordered.find((tx) => tx.reference.startsWith('payment_succeeded:')) ?? ordered[0];
    const extras = ordered.filter((tx) => tx !== canonical);
    findings.push(
      finding(line, {
        kind: 'DUPLICATE',
        category: 'MANUAL_REVIEW',
        rule: 'charge.posted_more_than_once',
        pspReference,
        ledgerReference: extras[0]?.reference ?? null,
        expectedMinor: canonical?.pspReceivableDebitMinor ?? null,
        actualMinor: ordered.reduce((sum, tx) => sum + tx.pspReceivableDebitMinor, 0n),
        note: `one PSP charge, ${ordered.length} payment_succeeded postings: ${ordered.map((tx) => tx.reference).join(', ')}; resolve with correction REVERSE_LEDGER_TRANSACTION of ${extras.map((tx) => tx.reference).join(', ')}`,
      }),
    );
  } else {
    const tx = candidates[0]!;
    if (tx.currency !== line.currency || tx.pspReceivableDebitMinor !== line.grossMinor) {
      findings.push(
        finding(line, {
          kind: 'AMOUNT_MISMATCH',
          category: 'MANUAL_REVIEW',
          rule: 'charge.amount_differs',
          pspReference,
          ledgerReference: tx.reference,
          expectedMinor: tx.pspReceivableDebitMinor,
          actualMinor: line.grossMinor,
          note: `the PSP charged ${line.grossMinor} ${line.currency}; the ledger posted ${tx.pspReceivableDebitMinor} ${tx.currency} (${tx.reference})`,
        }),
      );
    }
  }
  return { findings, ...(fee.feeBooking === undefined ? {} : { feeBooking: fee.feeBooking }) };
}

/**
 * What a payout_failed posting gave back, in the payout currency (its metadata; its entries never
 * touch psp_receivable): the amount of the PSP's payout and of its payout_reversal.
 */
function failedPayoutAmount(tx: LedgerTxView): { currency: string; amountMinor: bigint } | null {
  const currency = metaString(tx, 'payoutCurrency');
  const amount = metaString(tx, 'payoutAmountMinor');
  if (currency === undefined || amount === undefined || !/^[0-9]{1,30}$/.test(amount)) return null;
  return { currency, amountMinor: BigInt(amount) };
}

/** refund, refund_failure, payout, payout_reversal, dispute, dispute_reversal: one posting per PSP object. */
function matchMovement(line: PspLine, kind: Exclude<PspLineKind, 'charge' | 'unknown'>, index: LedgerIndex): LineOutcome {
  const pspReference = pspReferenceOf(line);
  const onPspReceivable = (amount: (tx: LedgerTxView) => bigint) => (tx: LedgerTxView) => ({ currency: tx.currency, amountMinor: amount(tx) });
  const maps = {
    refund: { map: index.refundsByPspId, posting: 'refund_succeeded', amount: onPspReceivable((tx) => tx.pspReceivableCreditMinor) },
    refund_failure: { map: index.refundsReversedByPspId, posting: 'refund_reversed', amount: onPspReceivable((tx) => tx.pspReceivableDebitMinor) },
    payout: { map: index.payoutsPaidByPspId, posting: 'payout_paid', amount: onPspReceivable((tx) => tx.pspReceivableCreditMinor) },
    payout_reversal: { map: index.payoutsFailedByPspId, posting: 'payout_failed', amount: failedPayoutAmount },
    dispute: { map: index.disputesOpenedByPspId, posting: 'dispute_opened', amount: onPspReceivable((tx) => tx.disputesClearingCreditMinor) },
    dispute_reversal: { map: index.disputesWonByPspId, posting: 'dispute_won', amount: null },
  } as const;
  let rule: { map: Map<string, LedgerTxView[]>; posting: string; amount: ((tx: LedgerTxView) => { currency: string; amountMinor: bigint } | null) | null } = maps[kind];
  let candidates = line.sourceId === null ? [] : (rule.map.get(line.sourceId) ?? []);
  // A payout that failed: the PSP debited it (this line) and credited it back (its
  // payout_reversal line); the ledger never moved psp_receivable for it, and its payout_failed
  // posting stands for both lines.
  if (kind === 'payout' && candidates.length === 0 && line.sourceId !== null) {
    const failed = index.payoutsFailedByPspId.get(line.sourceId) ?? [];
    if (failed.length > 0) {
      rule = maps.payout_reversal;
      candidates = failed;
    }
  }
  if (candidates.length === 0) {
    return {
      findings: [
        finding(line, {
          kind: 'MISSING_IN_LEDGER',
          category: 'MANUAL_REVIEW',
          rule: `${kind}.missing_in_ledger`,
          pspReference,
          actualMinor: line.grossMinor,
          note: `the PSP booked ${kind} ${line.grossMinor} ${line.currency} (${line.sourceId ?? line.balanceTransactionId}); the ledger has no ${rule.posting} posting for it`,
          ...(kind === 'refund_failure' && line.sourceId !== null ? { autoFix: { type: 'RESYNC_REFUND' as const, pspRefundId: line.sourceId } } : {}),
        }),
      ],
    };
  }
  if (candidates.length > 1) {
    return {
      findings: [
        finding(line, {
          kind: 'DUPLICATE',
          category: 'MANUAL_REVIEW',
          rule: `${kind}.posted_more_than_once`,
          pspReference,
          ledgerReference: candidates[1]?.reference ?? null,
          note: `one PSP ${kind}, ${candidates.length} ${rule.posting} postings: ${candidates.map((tx) => tx.reference).join(', ')}`,
        }),
      ],
    };
  }
  const tx = candidates[0]!;
  const findings: Finding[] = [];
  const posted = rule.amount === null ? undefined : rule.amount(tx);
  if (posted !== undefined && (posted === null || posted.currency !== line.currency || posted.amountMinor !== abs(line.grossMinor))) {
    findings.push(
      finding(line, {
        kind: 'AMOUNT_MISMATCH',
        category: 'MANUAL_REVIEW',
        rule: `${kind}.amount_differs`,
        pspReference,
        ledgerReference: tx.reference,
        expectedMinor: posted?.amountMinor ?? null,
        actualMinor: abs(line.grossMinor),
        note: `the PSP booked ${abs(line.grossMinor)} ${line.currency}; the ledger posted ${posted === null ? 'an unknown amount' : `${posted.amountMinor} ${posted.currency}`} (${tx.reference})`,
      }),
    );
  }
  // Only charges (psp_fee_booked) and disputes (dispute_opened) have their PSP fee booked: a fee
  // on any other line would leave psp_receivable off the PSP's balance by that fee, unnoticed.
  if (kind !== 'dispute' && line.feeMinor !== 0n) {
    findings.push(
      finding(line, {
        kind: 'FEE_MISMATCH',
        category: 'MANUAL_REVIEW',
        rule: `${kind}.fee_not_booked`,
        pspReference,
        ledgerReference: tx.reference,
        expectedMinor: 0n,
        actualMinor: line.feeMinor,
        note: `the PSP reported a fee of ${line.feeMinor} ${line.currency} on ${kind} ${line.balanceTransactionId}; no ledger posting books a fee for a ${kind}`,
      }),
    );
  }
  if (kind === 'dispute') {
    const bookedFee = metaString(tx, 'disputeFeeMinor');
    if (bookedFee !== undefined && /^[0-9]{1,20}$/.test(bookedFee) && BigInt(bookedFee) !== line.feeMinor) {
      findings.push(
        finding(line, {
          kind: 'FEE_MISMATCH',
          category: 'MANUAL_REVIEW',
          rule: 'dispute.fee_differs_from_booked',
          pspReference,
          ledgerReference: tx.reference,
          expectedMinor: BigInt(bookedFee),
          actualMinor: line.feeMinor,
          note: `the PSP charged a dispute fee of ${line.feeMinor} ${line.currency}; the ledger booked ${bookedFee} (${tx.reference})`,
        }),
      );
    }
  }
  return { findings };
}

function matchLine(line: PspLine, index: LedgerIndex, options: MatchOptions): LineOutcome {
  const kind = lineKindOf(line);
  if (kind === 'charge') return matchCharge(line, index, options);
  if (kind !== 'unknown') return matchMovement(line, kind, index);
  return {
    findings: [
      finding(line, {
        kind: 'MISSING_IN_LEDGER',
        category: 'UNCLASSIFIED',
        rule: 'line.unknown_category',
        pspReference: pspReferenceOf(line),
        actualMinor: line.grossMinor,
        note: `no rule knows PSP lines of category ${JSON.stringify(line.reportingCategory)} (type ${JSON.stringify(line.type)}): ${line.grossMinor} ${line.currency}, fee ${line.feeMinor}${line.description ? `, "${line.description.slice(0, 200)}"` : ''}`,
      }),
    ],
  };
}

/** Fee bookings of the day whose balance transaction is not among the day's lines. */
function feesMissingAtPsp(lines: readonly PspLine[], index: LedgerIndex, options: MatchOptions): Finding[] {
  const balanceTransactionIds = new Set(lines.map((line) => line.balanceTransactionId));
  const findings: Finding[] = [];
  for (const tx of index.transactions) {
    if (tx.kind !== 'psp_fee_booked') continue;
    const at = tx.effectiveAt.getTime();
    if (at < options.dayStart.getTime() || at >= options.dayEnd.getTime()) continue;
    const balanceTransactionId = metaString(tx, 'balanceTransactionId') ?? tx.reference.replace(/^psp_fee_booked:/, '');
    if (balanceTransactionIds.has(balanceTransactionId)) continue;
    findings.push({
      kind: 'MISSING_AT_PSP',
      category: 'MANUAL_REVIEW',
      rule: 'psp_fee_booked.missing_at_psp',
      subject: 'psp_fee_booked',
      pspReference: balanceTransactionId,
      balanceTransactionId,
      ledgerReference: tx.reference,
      currency: tx.currency,
      expectedMinor: tx.pspFeeExpenseDebitMinor,
      actualMinor: null,
      note: `the ledger booked a PSP fee of ${tx.pspFeeExpenseDebitMinor} ${tx.currency} (${tx.reference}) for balance transaction ${balanceTransactionId}, which is not among the PSP's lines of the day; resolve with correction REVERSE_LEDGER_TRANSACTION unless the PSP reports it on another day`,
    });
  }
  return findings;
}

/** Ledger postings of the day that should have a PSP line and have none. */
function missingAtPsp(lines: readonly PspLine[], index: LedgerIndex, options: MatchOptions): Finding[] {
  const pspIds = new Set<string>();
  for (const line of lines) {
    if (line.sourceId !== null) pspIds.add(line.sourceId);
    if (line.paymentIntentId !== null) pspIds.add(line.paymentIntentId);
  }
  const reportFrom = options.dayStart.getTime() + options.boundaryGraceMs;
  const findings: Finding[] = [...feesMissingAtPsp(lines, index, options)];
  for (const tx of index.transactions) {
    const at = tx.effectiveAt.getTime();
    if (at < reportFrom || at >= options.dayEnd.getTime()) continue;
    let pspReference: string | undefined;
    let amountMinor: bigint;
    let subject: FindingSubject;
    if (tx.kind === 'payment_succeeded') {
      subject = tx.kind;
      const ids = [metaString(tx, 'pspPaymentIntentId'), metaString(tx, 'pspChargeId')].filter((id): id is string => id !== undefined);
      if (ids.some((id) => pspIds.has(id))) continue;
      pspReference = ids[0];
      amountMinor = tx.pspReceivableDebitMinor;
    } else if (tx.kind === 'refund_succeeded' || tx.kind === 'refund_reversed') {
      subject = tx.kind;
      pspReference = metaString(tx, 'pspRefundId');
      if (pspReference !== undefined && pspIds.has(pspReference)) continue;
      amountMinor = tx.kind === 'refund_succeeded' ? tx.pspReceivableCreditMinor : tx.pspReceivableDebitMinor;
    } else continue;
    findings.push({
      kind: 'MISSING_AT_PSP',
      category: 'MANUAL_REVIEW',
      rule: `${tx.kind}.missing_at_psp`,
      subject,
      pspReference: pspReference ?? tx.reference,
      balanceTransactionId: null,
      ledgerReference: tx.reference,
      currency: tx.currency,
      expectedMinor: amountMinor,
      actualMinor: null,
      note: `the ledger posted ${tx.reference} (${amountMinor} ${tx.currency}) on the day; the PSP has no balance transaction for ${pspReference ?? 'it'} that day`,
    });
  }
  return findings;
}

/** Matches one day's PSP lines against the ledger. Pure: the caller loads both sides. */
export function matchDay(lines: readonly PspLine[], ledger: readonly LedgerTxView[], options: MatchOptions): MatchResult {
  const index = new LedgerIndex(ledger);
  const findings: Finding[] = [];
  const feeBookings: FeeBooking[] = [];
  const seen = new Set<string>();
  let matchedCount = 0;
  // One finding per discrepancy key (persistence: upsertDiscrepancy).
  const add = (item: Finding): void => {
    const key = `${item.kind}|${item.subject}|${item.pspReference}`;
    if (seen.has(key)) return;
    seen.add(key);
    findings.push(item);
  };
  for (const line of lines) {
    const outcome = matchLine(line, index, options);
    if (outcome.findings.length === 0) matchedCount += 1;
    outcome.findings.forEach(add);
    if (outcome.feeBooking) feeBookings.push(outcome.feeBooking);
  }
  missingAtPsp(lines, index, options).forEach(add);
  return { matchedCount, findings, feeBookings };
}
