// Pure ledger types: the drafts posting rules produce and validateTransaction checks. A draft
// becomes a JournalTransaction row plus LedgerEntry rows in the persistence layer.
import type { AccountCode, Direction } from './accounts.js';
import type { LedgerRuleError } from './errors.js';

export interface JournalEntryDraft {
  readonly accountCode: AccountCode;
  readonly currency: string;
  readonly direction: Direction;
  /** Always > 0; the direction carries the sign. */
  readonly amountMinor: bigint;
}
/** Alias kept for readers who know the Formance vocabulary. */
export type Posting = JournalEntryDraft;

export const TRANSACTION_KINDS = [
  'payment_succeeded',
  'order_delivered',
  'payout_requested',
  'payout_paid',
  'payout_failed',
  'refund_succeeded',
  'refund_reversed',
  'dispute_opened',
  'dispute_won',
  'dispute_lost',
  'psp_fee_booked',
  'reversal',
] as const;
export type TransactionKind = (typeof TRANSACTION_KINDS)[number];

/** JSON-safe metadata: bigints travel as digit strings. */
export type TransactionMetadata = Readonly<Record<string, string | number | boolean | null>>;

export interface JournalTransactionDraft {
  /** Unique per cause (e.g. "payment_succeeded:<paymentId>"): the same cause cannot be posted twice. */
  readonly reference: string;
  readonly kind: TransactionKind;
  readonly effectiveAt: Date;
  readonly metadata: TransactionMetadata;
  /** The message id of the event that caused the posting, when an event did. */
  readonly causationEventId?: string;
  /** The payment or payout id, for lookups such as Payment.ledgerTransactions. */
  readonly correlationId?: string;
  /** The reference of the transaction this one reverses. */
  readonly reversesReference?: string;
  readonly entries: readonly JournalEntryDraft[];
}

export interface PostingContext {
  readonly causationEventId?: string;
}

/**
 * What a posting rule decides: post a transaction, post nothing (e.g. delivering an order whose
 * net was fully refunded), or reject the input with a typed error.
 */
export type PostingResult =
  | { readonly kind: 'post'; readonly transaction: JournalTransactionDraft }
  | { readonly kind: 'nothing_to_post'; readonly reason: string }
  | { readonly kind: 'rejected'; readonly error: LedgerRuleError };
