// Pure balance arithmetic over drafts: the same signed-in-normal-direction running balance the
// persistence layer keeps in ledger_accounts.balance_minor, for tests, as-of views and checks.
import type { AccountCode } from './accounts.js';
import { describeAccount } from './accounts.js';
import type { JournalEntryDraft, JournalTransactionDraft } from './types.js';
import { assertValidTransaction } from './validate.js';
import { invariant } from '@clearhouse/shared';

/** Key of one ledger account: code and currency. */
export function accountKey(accountCode: AccountCode, currency: string): string {
  return `${accountCode}|${currency}`;
}

/** +amount when the entry is on the account's normal side, -amount otherwise. */
export function balanceDeltaMinor(entry: JournalEntryDraft): bigint {
  const definition = describeAccount(entry.accountCode);
  invariant(definition !== undefined, `unknown account ${entry.accountCode}`);
  return entry.direction === definition.normalBalance ? entry.amountMinor : -entry.amountMinor;
}

export type BalanceMap = ReadonlyMap<string, bigint>;

/** Applies a valid transaction to a balance map, returning a new map (the input is not changed). */
export function applyTransaction(balances: BalanceMap, transaction: JournalTransactionDraft): Map<string, bigint> {
  assertValidTransaction(transaction);
  const next = new Map(balances);
  for (const entry of transaction.entries) {
    const key = accountKey(entry.accountCode, entry.currency);
    next.set(key, (next.get(key) ?? 0n) + balanceDeltaMinor(entry));
  }
  return next;
}

export function balanceOf(balances: BalanceMap, accountCode: AccountCode, currency: string): bigint {
  return balances.get(accountKey(accountCode, currency)) ?? 0n;
}

/**
 * Trial balance per currency: sum of debit-normal balances minus sum of credit-normal balances.
 * Zero for every currency when the books balance (which every valid transaction preserves).
 */
export function trialBalanceByCurrency(balances: BalanceMap): Map<string, bigint> {
  const netByCurrency = new Map<string, bigint>();
  for (const [key, balanceMinor] of balances) {
    const separatorIndex = key.lastIndexOf('|');
    const accountCode = key.slice(0, separatorIndex);
    const currency = key.slice(separatorIndex + 1);
    const definition = describeAccount(accountCode);
    invariant(definition !== undefined, `unknown account ${accountCode}`);
    const signedMinor = definition.normalBalance === 'DEBIT' ? balanceMinor : -balanceMinor;
    netByCurrency.set(currency, (netByCurrency.get(currency) ?? 0n) + signedMinor);
  }
  return netByCurrency;
}
