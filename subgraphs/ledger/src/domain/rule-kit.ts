// Small helpers the posting rules share: an entry list that skips zero legs and rejects negative
// ones, input checks that raise typed errors, and the wrapper that turns them into a result.
import { isSupportedCurrency } from '@clearhouse/shared';
import type { AccountCode, Direction } from './accounts.js';
import { LedgerRuleError, ruleFailure } from './errors.js';
import type { JournalEntryDraft, JournalTransactionDraft, PostingResult } from './types.js';
import { validateTransaction } from './validate.js';

export class EntryList {
  private readonly entries: JournalEntryDraft[] = [];

  /** Adds a leg; a zero amount adds nothing (entries are > 0), a negative one is a rule failure. */
  add(direction: Direction, accountCode: AccountCode, currency: string, amountMinor: bigint, field: string): this {
    if (amountMinor < 0n) ruleFailure('INVALID_AMOUNT', `${field} must be >= 0, got ${amountMinor}`, field);
    if (amountMinor > 0n) this.entries.push({ accountCode, currency, direction, amountMinor });
    return this;
  }

  debit(accountCode: AccountCode, currency: string, amountMinor: bigint, field: string): this {
    return this.add('DEBIT', accountCode, currency, amountMinor, field);
  }

  credit(accountCode: AccountCode, currency: string, amountMinor: bigint, field: string): this {
    return this.add('CREDIT', accountCode, currency, amountMinor, field);
  }

  toArray(): readonly JournalEntryDraft[] {
    return [...this.entries];
  }
}

export function requireCurrency(currency: string, field = 'currency'): void {
  if (!isSupportedCurrency(currency)) ruleFailure('UNSUPPORTED_CURRENCY', `unsupported currency ${JSON.stringify(String(currency).slice(0, 8))}`, field);
}

export function requirePositive(amountMinor: bigint, field: string): void {
  if (typeof amountMinor !== 'bigint' || amountMinor <= 0n) ruleFailure('NON_POSITIVE_AMOUNT', `${field} must be > 0`, field);
}

export function requireNonNegative(amountMinor: bigint, field: string): void {
  if (typeof amountMinor !== 'bigint' || amountMinor < 0n) ruleFailure('INVALID_AMOUNT', `${field} must be >= 0`, field);
}

export function requireValidDate(at: Date, field: string): void {
  if (!(at instanceof Date) || Number.isNaN(at.getTime())) ruleFailure('INVALID_EFFECTIVE_AT', `${field} must be a valid date`, field);
}

/**
 * Runs a rule body: a LedgerRuleError becomes `rejected`; a draft is validated once more (the
 * postcondition: every rule's output balances) and anything else a rule throws is a bug.
 */
export function runRule(body: () => JournalTransactionDraft | { nothingToPost: string }): PostingResult {
  let outcome: JournalTransactionDraft | { nothingToPost: string };
  try {
    outcome = body();
  } catch (error) {
    if (error instanceof LedgerRuleError) return { kind: 'rejected', error };
    throw error;
  }
  if ('nothingToPost' in outcome) return { kind: 'nothing_to_post', reason: outcome.nothingToPost };
  const validation = validateTransaction(outcome);
  if (!validation.ok) return { kind: 'rejected', error: validation.error };
  return { kind: 'post', transaction: outcome };
}
