// The Money value: an integer amount in the currency's minor unit plus an ISO 4217 code.
// Arithmetic never mixes currencies: adding EUR to USD is a bug, so it throws.
import { invariant } from '../invariant.js';
import { UnknownCurrencyError, isSupportedCurrency } from './currency.js';

export interface Money {
  readonly amountMinor: bigint;
  readonly currency: string;
}

export class CurrencyMismatchError extends Error {
  override readonly name = 'CurrencyMismatchError';
  readonly expected: string;
  readonly actual: string;

  constructor(expected: string, actual: string) {
    super(`currency mismatch: expected ${expected}, got ${actual}`);
    this.expected = expected;
    this.actual = actual;
  }
}

// Bound on sumMoney's input: no legitimate split or basket has more parts than this, and a
// runaway list should fail loudly rather than loop.
export const SUM_MONEY_ITEMS_MAX = 100_000;

export function money(amountMinor: bigint, currency: string): Money {
  invariant(typeof amountMinor === 'bigint', 'money: amountMinor must be a bigint');
  if (!isSupportedCurrency(currency)) {
    throw new UnknownCurrencyError(String(currency));
  }
  return Object.freeze({ amountMinor, currency });
}

export function zeroMoney(currency: string): Money {
  return money(0n, currency);
}

function assertSameCurrency(a: Money, b: Money): void {
  if (a.currency !== b.currency) {
    throw new CurrencyMismatchError(a.currency, b.currency);
  }
}

export function addMoney(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return money(a.amountMinor + b.amountMinor, a.currency);
}

export function subtractMoney(a: Money, b: Money): Money {
  assertSameCurrency(a, b);
  return money(a.amountMinor - b.amountMinor, a.currency);
}

export function negateMoney(a: Money): Money {
  return money(-a.amountMinor, a.currency);
}

// Sums items that must all be in `currency`; the currency argument makes the empty sum
// well-defined (zero in that currency) instead of undefined.
export function sumMoney(items: readonly Money[], currency: string): Money {
  invariant(items.length <= SUM_MONEY_ITEMS_MAX, `sumMoney: more than ${SUM_MONEY_ITEMS_MAX} items`);
  let totalMinor = 0n;
  for (const item of items) {
    if (item.currency !== currency) {
      throw new CurrencyMismatchError(currency, item.currency);
    }
    totalMinor += item.amountMinor;
  }
  return money(totalMinor, currency);
}

export function moneyEquals(a: Money, b: Money): boolean {
  return a.currency === b.currency && a.amountMinor === b.amountMinor;
}
