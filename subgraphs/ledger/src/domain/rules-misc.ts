// Posting rules that are not tied to one flow: PSP fees and the generic reversal.
import type { PspFeeBookedV1 } from '@clearhouse/shared';
import { pspFeeExpense, pspReceivable } from './accounts.js';
import { EntryList, requireCurrency, requirePositive, requireValidDate, runRule } from './rule-kit.js';
import type { JournalEntryDraft, JournalTransactionDraft, PostingContext, PostingResult } from './types.js';
import { validateTransaction } from './validate.js';

/** psp.fee_booked: DR psp_fee_expense, CR psp_receivable (the PSP kept the fee from our balance). */
export function postPspFeeBooked(fee: PspFeeBookedV1, context: PostingContext = {}): PostingResult {
  return runRule(() => {
    requireCurrency(fee.currency);
    requirePositive(fee.feeMinor, 'feeMinor');
    requireValidDate(fee.bookedAt, 'bookedAt');
    const entries = new EntryList()
      .debit(pspFeeExpense(), fee.currency, fee.feeMinor, 'feeMinor')
      .credit(pspReceivable(), fee.currency, fee.feeMinor, 'feeMinor');
    return {
      reference: `psp_fee_booked:${fee.balanceTransactionId}`,
      kind: 'psp_fee_booked',
      effectiveAt: fee.bookedAt,
      correlationId: fee.sourceId,
      ...(context.causationEventId === undefined ? {} : { causationEventId: context.causationEventId }),
      metadata: { balanceTransactionId: fee.balanceTransactionId, sourceId: fee.sourceId },
      entries: entries.toArray(),
    };
  });
}

/** The same legs with every direction flipped. */
export function mirrorEntries(entries: readonly JournalEntryDraft[]): JournalEntryDraft[] {
  return entries.map((entry) => ({ ...entry, direction: entry.direction === 'DEBIT' ? 'CREDIT' : 'DEBIT' }));
}

export interface ReversalOptions {
  readonly effectiveAt: Date;
  /** Why the original is corrected; kept in the metadata. */
  readonly reason: string;
  /** Defaults to "reversal:<original reference>", so one original is reversed at most once. */
  readonly reference?: string;
  readonly causationEventId?: string;
}

/**
 * The mirror of a posted transaction, for corrections: every entry with its direction flipped,
 * linked by reversesReference. The original must itself be valid (it was posted).
 */
export function reverseTransaction(original: JournalTransactionDraft, options: ReversalOptions): PostingResult {
  return runRule(() => {
    const originalValidation = validateTransaction(original);
    if (!originalValidation.ok) throw originalValidation.error;
    requireValidDate(options.effectiveAt, 'effectiveAt');
    const reference = options.reference ?? `reversal:${original.reference}`;
    return {
      reference,
      kind: 'reversal',
      effectiveAt: options.effectiveAt,
      ...(original.correlationId === undefined ? {} : { correlationId: original.correlationId }),
      ...(options.causationEventId === undefined ? {} : { causationEventId: options.causationEventId }),
      reversesReference: original.reference,
      metadata: { reason: options.reason, reversedKind: original.kind },
      entries: mirrorEntries(original.entries),
    };
  });
}
