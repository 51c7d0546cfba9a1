// Pure reconciliation types: one PSP balance transaction as ingested, the ledger's view of the
// transactions it is matched against, and what matching finds. No I/O.

/** A UTC day, "YYYY-MM-DD". */
export type UtcDay = string;

export type PspSource = 'csv' | 'api';

/** One PSP balance transaction. Amounts in minor units, signed as the PSP reports them. */
export interface PspLine {
  readonly balanceTransactionId: string;
  readonly createdAt: Date;
  readonly availableOn: Date | null;
  /** ISO 4217, upper-case. */
  readonly currency: string;
  readonly grossMinor: bigint;
  readonly feeMinor: bigint;
  readonly netMinor: bigint;
  /** Stripe's balance transaction type (charge, refund, payout, adjustment, ...); the CSV has only the category. */
  readonly type: string;
  readonly reportingCategory: string;
  /** The PSP object that caused it: ch_, re_, po_, tr_, dp_ ... */
  readonly sourceId: string | null;
  readonly paymentIntentId: string | null;
  readonly description: string | null;
}

/** What a PSP line is about, from its reporting category (and type). */
export type PspLineKind = 'charge' | 'refund' | 'refund_failure' | 'payout' | 'payout_reversal' | 'dispute' | 'dispute_reversal' | 'unknown';

/** A journal transaction as reconciliation sees it (reversed ones and reversals are left out). */
export interface LedgerTxView {
  readonly id: string;
  readonly reference: string;
  readonly kind: string;
  readonly effectiveAt: Date;
  readonly correlationId: string | null;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** Per currency of the entries: what the transaction moved on psp_receivable / disputes_clearing. */
  readonly currency: string;
  readonly pspReceivableDebitMinor: bigint;
  readonly pspReceivableCreditMinor: bigint;
  readonly disputesClearingCreditMinor: bigint;
  readonly pspFeeExpenseDebitMinor: bigint;
}

export const DISCREPANCY_KINDS = ['MISSING_IN_LEDGER', 'MISSING_AT_PSP', 'AMOUNT_MISMATCH', 'FEE_MISMATCH', 'DUPLICATE'] as const;
export type DiscrepancyKind = (typeof DISCREPANCY_KINDS)[number];
export const DISCREPANCY_CATEGORIES = ['AUTO_FIXED', 'MANUAL_REVIEW', 'UNCLASSIFIED'] as const;
export type DiscrepancyCategory = (typeof DISCREPANCY_CATEGORIES)[number];
export const DISCREPANCY_STATUSES = ['OPEN', 'RESOLVED'] as const;
export type DiscrepancyStatus = (typeof DISCREPANCY_STATUSES)[number];

/** An automatic fix a rule asks the application layer to carry out. */
export type AutoFix = { readonly type: 'REPLAY_PAYMENT'; readonly paymentIntentId: string } | { readonly type: 'RESYNC_REFUND'; readonly pspRefundId: string };

/**
 * What a finding is about: the PSP line's kind, or for MISSING_AT_PSP the ledger posting's kind.
 * Lines of different kinds may name the same PSP object (a refund and its refund_failure, a
 * payout and its payout_reversal, a dispute and its dispute_reversal).
 */
export type FindingSubject = PspLineKind | 'payment_succeeded' | 'refund_succeeded' | 'refund_reversed' | 'psp_fee_booked';

/** One disagreement found by matching; keyed by (day, kind, subject, pspReference). */
export interface Finding {
  readonly kind: DiscrepancyKind;
  readonly subject: FindingSubject;
  readonly category: DiscrepancyCategory;
  /** Names the rule in domain/rules.md terms, e.g. "charge.missing_in_ledger". */
  readonly rule: string;
  readonly pspReference: string;
  readonly balanceTransactionId: string | null;
  readonly ledgerReference: string | null;
  readonly currency: string | null;
  readonly expectedMinor: bigint | null;
  readonly actualMinor: bigint | null;
  readonly note: string;
  /** Set when the rule knows a scripted fix; the category becomes AUTO_FIXED only if it worked. */
  readonly autoFix?: AutoFix;
}

/** A PSP fee to book (postPspFeeBooked): the routine way the ledger learns PSP fees. */
export interface FeeBooking {
  readonly balanceTransactionId: string;
  readonly sourceId: string;
  readonly currency: string;
  readonly feeMinor: bigint;
  readonly bookedAt: Date;
}

export interface MatchResult {
  /** PSP lines that agree with the ledger (a fee booked in this run counts as agreeing). */
  readonly matchedCount: number;
  readonly findings: readonly Finding[];
  readonly feeBookings: readonly FeeBooking[];
}
