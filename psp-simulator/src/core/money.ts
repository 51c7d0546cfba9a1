// Money math in integer minor units. Fees use bigint so that no intermediate is a float.
import { invalidRequest } from './errors.js';

const zeroDecimal = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf', 'isk']);
const threeDecimal = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd', 'iqd', 'lyd']);

/**
 * Stripe takes payment intents, refunds and disputes in these three-decimal currencies only with a
 * last digit of 0 ("your integration must round amounts to the nearest ten").
 */
const tenStepCurrencies = new Set(['bhd', 'jod', 'kwd', 'omr', 'tnd']);

export function assertPspAmountStep(amountMinor: number, currency: string, param: string): void {
  if (tenStepCurrencies.has(currency.toLowerCase()) && amountMinor % 10 !== 0) {
    throw invalidRequest(`Amounts in ${currency.toUpperCase()} must be a multiple of 10 (the last digit must be 0).`, param, 'amount_invalid');
  }
}

export function currencyExponent(currency: string): number {
  const code = currency.toLowerCase();
  if (zeroDecimal.has(code)) return 0;
  if (threeDecimal.has(code)) return 3;
  return 2;
}

/** Divides rounding half away from zero (half-up for the positive amounts fees are taken on). */
export function divideRoundHalfUp(numerator: bigint, denominator: bigint): bigint {
  if (denominator <= 0n) throw new Error('denominator must be positive');
  const negative = numerator < 0n;
  const magnitude = negative ? -numerator : numerator;
  const rounded = (magnitude * 2n + denominator) / (denominator * 2n);
  return negative ? -rounded : rounded;
}

export interface FeeRule {
  percentBps: number;
  fixedMinor: number;
}

/** Card fee: amount × bps / 10 000 rounded half-up, plus the fixed part. */
export function cardFeeMinor(amountMinor: number, rule: FeeRule): number {
  const percentPart = divideRoundHalfUp(BigInt(amountMinor) * BigInt(rule.percentBps), 10_000n);
  const fee = percentPart + BigInt(rule.fixedMinor);
  return Number(fee);
}

/** 12345 USD → "123.45"; -5 KWD → "-0.005"; 500 JPY → "500". */
export function formatMajor(amountMinor: number, currency: string): string {
  const exponent = currencyExponent(currency);
  const negative = amountMinor < 0;
  const digits = Math.abs(amountMinor).toString();
  if (exponent === 0) return (negative ? '-' : '') + digits;
  const padded = digits.padStart(exponent + 1, '0');
  const whole = padded.slice(0, padded.length - exponent);
  const fraction = padded.slice(padded.length - exponent);
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}

/** Stripe's amount field: at most eight digits in the currency's smallest unit, in every currency. */
export const maxAmountMinor = 99_999_999;

/** Above the cap Stripe answers amount_too_large (100,000.000 KWD too: nine digits). */
export function assertAmountWithinCap(amountMinor: number, param: string): void {
  if (amountMinor > maxAmountMinor) {
    throw invalidRequest(`Amount must be no more than ${maxAmountMinor} in the currency's smallest unit (eight digits).`, param, 'amount_too_large');
  }
}
