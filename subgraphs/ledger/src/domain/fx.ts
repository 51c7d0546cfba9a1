// Currency conversion for FX payouts. The rate is an exact fraction so conversion is exact
// integer arithmetic; the only rounding is the final half-up to the target's minor unit.
import { currencyExponent } from '@clearhouse/shared';
import { ruleFailure } from './errors.js';

/** Target major units per source major unit = numerator / denominator (e.g. 0.9123 EUR per USD = 9123/10000). */
export interface FxRate {
  readonly numerator: bigint;
  readonly denominator: bigint;
}

/** A payout may differ from the converted amount by at most 1% (the PSP's own rate and rounding); beyond that it is an error. */
export const FX_DIFFERENCE_TOLERANCE_BPS = 100n;

/**
 * Converts amountMinor of `fromCurrency` into `toCurrency` minor units, rounding half-up:
 * exact = amountMinor * numerator * 10^exp(to) / (denominator * 10^exp(from)).
 */
export function convertMinor(amountMinor: bigint, fromCurrency: string, toCurrency: string, rate: FxRate): bigint {
  if (rate.numerator <= 0n || rate.denominator <= 0n) ruleFailure('INVALID_FX_RATE', 'the FX rate terms must be > 0', 'fx');
  if (amountMinor < 0n) ruleFailure('INVALID_AMOUNT', 'amountMinor must be >= 0', 'amountMinor');
  const dividend = amountMinor * rate.numerator * 10n ** BigInt(currencyExponent(toCurrency));
  const divisor = rate.denominator * 10n ** BigInt(currencyExponent(fromCurrency));
  // half-up for non-negative values: floor((2 * dividend + divisor) / (2 * divisor)).
  return (2n * dividend + divisor) / (2n * divisor);
}

/** The largest accepted |expected - actual| for a converted amount: 1% of it, at least one minor unit. */
export function fxDifferenceToleranceMinor(expectedMinor: bigint): bigint {
  const percentMinor = (expectedMinor * FX_DIFFERENCE_TOLERANCE_BPS) / 10_000n;
  return percentMinor > 1n ? percentMinor : 1n;
}
