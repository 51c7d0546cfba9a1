// FX for payouts sent in another currency than the balance: a static rate table (FX_RATES,
// e.g. "EUR/USD=1.08,GBP/USD=1.27") read as exact fractions, and the conversion, rounded half-up
// to the target's minor unit exactly like the ledger's posting rule, so the ledger's explicit
// rounding-difference entry is zero for our own conversions.
import { currencyExponent, isSupportedCurrency } from '@clearhouse/shared';

/** Target major units per source major unit = numerator / denominator. */
export interface FxRate {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

export type FxRateTable = ReadonlyMap<string, FxRate>;

const RATE_PATTERN = /^([0-9]{1,12})(?:\.([0-9]{1,12}))?$/;
const PAIRS_MAX = 200;

function gcd(a: bigint, b: bigint): bigint {
  let x = a;
  let y = b;
  // Euclid terminates in O(log) steps; the bound is a safety net.
  for (let step = 0; step < 1000 && y !== 0n; step++) [x, y] = [y, x % y];
  return x;
}

function reduce(rate: FxRate): FxRate {
  const divisor = gcd(rate.numerator, rate.denominator);
  return { numerator: rate.numerator / divisor, denominator: rate.denominator / divisor };
}

/** Parses "1.08" into 108/100 (reduced: 27/25). */
export function parseRate(text: string): FxRate {
  const match = RATE_PATTERN.exec(text.trim());
  if (!match) throw new Error(`invalid FX rate ${JSON.stringify(text)}: expected a decimal like 1.08`);
  const fraction = match[2] ?? '';
  const numerator = BigInt(`${match[1]}${fraction}`);
  if (numerator === 0n) throw new Error(`FX rate ${text} must be greater than zero`);
  return reduce({ numerator, denominator: 10n ** BigInt(fraction.length) });
}

/** "EUR/USD=1.08,GBP/USD=1.27" → a table holding each pair and its inverse. */
export function parseFxRates(text: string): FxRateTable {
  const table = new Map<string, FxRate>();
  const items = text.split(',').map((item) => item.trim()).filter((item) => item.length > 0);
  if (items.length > PAIRS_MAX) throw new Error(`at most ${PAIRS_MAX} FX pairs`);
  for (const item of items) {
    const match = /^([A-Z]{3})\/([A-Z]{3})=(.+)$/.exec(item);
    if (!match?.[1] || !match[2] || !match[3]) throw new Error(`invalid FX pair ${JSON.stringify(item)}: expected BASE/QUOTE=rate, e.g. EUR/USD=1.08`);
    const [from, to] = [match[1], match[2]];
    if (!isSupportedCurrency(from) || !isSupportedCurrency(to) || from === to) throw new Error(`invalid FX pair ${item}: two different supported currencies needed`);
    const rate = parseRate(match[3]);
    table.set(`${from}/${to}`, rate);
    if (!table.has(`${to}/${from}`)) table.set(`${to}/${from}`, { numerator: rate.denominator, denominator: rate.numerator });
  }
  return table;
}

export function findRate(table: FxRateTable, fromCurrency: string, toCurrency: string): FxRate | undefined {
  return table.get(`${fromCurrency}/${toCurrency}`);
}

/** amountMinor of `from` in `to` minor units, half-up (same formula as the ledger's convertMinor). */
export function convertMinor(amountMinor: bigint, fromCurrency: string, toCurrency: string, rate: FxRate): bigint {
  if (rate.numerator <= 0n || rate.denominator <= 0n) throw new Error('FX rate terms must be > 0');
  if (amountMinor < 0n) throw new Error('amountMinor must be >= 0');
  const dividend = amountMinor * rate.numerator * 10n ** BigInt(currencyExponent(toCurrency));
  const divisor = rate.denominator * 10n ** BigInt(currencyExponent(fromCurrency));
  return (2n * dividend + divisor) / (2n * divisor);
}
