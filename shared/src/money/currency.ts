// ISO 4217 currencies Clearhouse accepts, with their minor-unit exponents. The exponent comes
// from this table and nowhere else: a currency missing here cannot be charged, paid out or
// formatted, which is why unknown codes throw instead of guessing "2".

export class UnknownCurrencyError extends Error {
  override readonly name = 'UnknownCurrencyError';
  readonly currency: string;

  constructor(currency: string) {
    super(`unknown or unsupported currency ${JSON.stringify(currency.slice(0, 16))}`);
    this.currency = currency;
  }
}

// Exponents from ISO 4217 (the number of decimal places of the minor unit).
const CURRENCY_EXPONENTS: ReadonlyMap<string, number> = new Map<string, number>([
  ['USD', 2],
  ['EUR', 2],
  ['GBP', 2],
  ['JPY', 0],
  ['KWD', 3],
  ['BHD', 3],
  ['CHF', 2],
  ['CAD', 2],
  ['AUD', 2],
  ['SEK', 2],
  ['NOK', 2],
  ['DKK', 2],
  ['PLN', 2],
  ['NZD', 2],
  ['HKD', 2],
  ['SGD', 2],
  ['CZK', 2],
  ['KRW', 0],
  ['JOD', 3],
  ['OMR', 3],
  ['TND', 3],
]);

export const SUPPORTED_CURRENCIES: readonly string[] = Object.freeze([...CURRENCY_EXPONENTS.keys()]);

export function isSupportedCurrency(currency: string): boolean {
  return typeof currency === 'string' && CURRENCY_EXPONENTS.has(currency);
}

export function currencyExponent(currency: string): number {
  const exponent = typeof currency === 'string' ? CURRENCY_EXPONENTS.get(currency) : undefined;
  if (exponent === undefined) {
    throw new UnknownCurrencyError(String(currency));
  }
  return exponent;
}

// 10^exponent as a bigint: the number of minor units in one major unit.
export function minorUnitsPerMajor(currency: string): bigint {
  return 10n ** BigInt(currencyExponent(currency));
}

// Three-decimal currencies at the PSP: Stripe accepts their payment intents, refunds and disputes
// only with a last digit of 0 ("your integration must round amounts to the nearest ten"; its
// payment partners settle them in tens of the minor unit). Amounts sent there are multiples of
// this step; every other currency's step is 1.
const PSP_AMOUNT_STEPS_MINOR: ReadonlyMap<string, bigint> = new Map<string, bigint>([
  ['KWD', 10n],
  ['BHD', 10n],
  ['JOD', 10n],
  ['OMR', 10n],
  ['TND', 10n],
]);

export function pspAmountStepMinor(currency: string): bigint {
  currencyExponent(currency);
  return PSP_AMOUNT_STEPS_MINOR.get(currency) ?? 1n;
}

// Upper limit for a single payment (charge, refund, payout) in minor units: the PSP's. Stripe's
// amount field has at most eight digits in the currency's smallest unit, whatever the currency
// ("a value of 99999999 for a USD charge of $999,999.99"), so:
//   USD/EUR (exp 2): 99_999_999 = 999,999.99   JPY (exp 0): 99_999_999 = ¥99,999,999
//   KWD (exp 3): 99_999_999 = 99,999.999 (in practice 99,999.990: the PSP step is 10)
// A larger amount would be written here and then refused by the PSP. Balances and totals may
// exceed this; it bounds one payment, not an account.
const PSP_AMOUNT_DIGITS_MAX = 8;

export function maxAmountMinor(currency: string): bigint {
  currencyExponent(currency);
  return 10n ** BigInt(PSP_AMOUNT_DIGITS_MAX) - 1n;
}
