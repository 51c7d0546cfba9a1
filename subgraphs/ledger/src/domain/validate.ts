// The double-entry rules every transaction obeys before it is written (and, per TigerStyle,
// again after it is read back): >= 2 entries, every amount > 0, known accounts and currencies,
// debits = credits per currency. The database enforces the same (triggers in prisma/ledger/migrations/*_ledger_journal).
import { isSupportedCurrency } from '@clearhouse/shared';
import { isKnownAccountCode } from './accounts.js';
import { LedgerRuleError } from './errors.js';
import type { JournalTransactionDraft } from './types.js';

/** A transaction with more entries than this is a bug (a basket has far fewer sellers). */
export const ENTRIES_PER_TRANSACTION_MAX = 1_000;
export const REFERENCE_LENGTH_MAX = 200;

export type ValidationResult = { readonly ok: true } | { readonly ok: false; readonly error: LedgerRuleError };

export function validateTransaction(draft: JournalTransactionDraft): ValidationResult {
  const error = findViolation(draft);
  return error === undefined ? { ok: true } : { ok: false, error };
}

/** Throws the LedgerRuleError of an invalid draft; for code paths where invalid means a bug. */
export function assertValidTransaction(draft: JournalTransactionDraft): void {
  const error = findViolation(draft);
  if (error !== undefined) throw error;
}

function findViolation(draft: JournalTransactionDraft): LedgerRuleError | undefined {
  if (typeof draft.reference !== 'string' || draft.reference.length === 0 || draft.reference.length > REFERENCE_LENGTH_MAX) {
    return new LedgerRuleError('INVALID_REFERENCE', `reference must be 1..${REFERENCE_LENGTH_MAX} characters`, 'reference');
  }
  if (!(draft.effectiveAt instanceof Date) || Number.isNaN(draft.effectiveAt.getTime())) {
    return new LedgerRuleError('INVALID_EFFECTIVE_AT', 'effectiveAt must be a valid date', 'effectiveAt');
  }
  if (draft.entries.length < 2) {
    return new LedgerRuleError('TOO_FEW_ENTRIES', `a transaction needs at least 2 entries, got ${draft.entries.length}`, 'entries');
  }
  if (draft.entries.length > ENTRIES_PER_TRANSACTION_MAX) {
    return new LedgerRuleError('TOO_MANY_ENTRIES', `a transaction has at most ${ENTRIES_PER_TRANSACTION_MAX} entries`, 'entries');
  }
  const netByCurrency = new Map<string, bigint>();
  for (const [index, entry] of draft.entries.entries()) {
    const field = `entries.${index}`;
    if (!isKnownAccountCode(entry.accountCode)) {
      return new LedgerRuleError('UNKNOWN_ACCOUNT', `unknown account ${JSON.stringify(String(entry.accountCode).slice(0, 64))}`, `${field}.accountCode`);
    }
    if (!isSupportedCurrency(entry.currency)) {
      return new LedgerRuleError('UNSUPPORTED_CURRENCY', `unsupported currency ${JSON.stringify(String(entry.currency).slice(0, 8))}`, `${field}.currency`);
    }
    if (typeof entry.amountMinor !== 'bigint' || entry.amountMinor <= 0n) {
      return new LedgerRuleError('NON_POSITIVE_AMOUNT', 'every entry amount must be a bigint > 0', `${field}.amountMinor`);
    }
    if (entry.direction !== 'DEBIT' && entry.direction !== 'CREDIT') {
      return new LedgerRuleError('INVALID_AMOUNT', 'direction must be DEBIT or CREDIT', `${field}.direction`);
    }
    const signedMinor = entry.direction === 'DEBIT' ? entry.amountMinor : -entry.amountMinor;
    netByCurrency.set(entry.currency, (netByCurrency.get(entry.currency) ?? 0n) + signedMinor);
  }
  for (const [currency, netMinor] of netByCurrency) {
    if (netMinor !== 0n) {
      return new LedgerRuleError('UNBALANCED', `debits and credits differ by ${netMinor} minor units in ${currency}`, 'entries');
    }
  }
  return undefined;
}
