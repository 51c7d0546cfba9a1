// Payout amount rules: currency, minimum (configured in major units, scaled by the currency's
// exponent), the per-payout upper bound, and the amount to reserve when none is given.
import { DomainError, formatAmount, isSupportedCurrency, maxAmountMinor, minorUnitsPerMajor } from '@clearhouse/shared';

export interface PayoutRequestInput {
  readonly sellerId: string;
  readonly currency: string;
  /** null: the whole available balance. */
  readonly amountMinor: bigint | null;
}

/** PAYOUT_MINIMUM_MAJOR whole major units of `currency`, in minor units (USD 1 → 100, JPY 1 → 1). */
export function minimumPayoutMinor(minimumMajor: bigint, currency: string): bigint {
  const minimumMinor = minimumMajor * minorUnitsPerMajor(currency);
  return minimumMinor > 1n ? minimumMinor : 1n;
}

const SELLER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

/** Validates the request; throws a DomainError with the field at fault. Writes nothing. */
export function validatePayoutRequest(input: PayoutRequestInput, minimumMajor: bigint): void {
  if (!SELLER_ID_PATTERN.test(input.sellerId)) {
    throw new DomainError('INVALID_INPUT', 'sellerId must be 1-64 letters, digits, _ or -', { field: ['input', 'sellerId'] });
  }
  if (!/^[A-Z]{3}$/.test(input.currency) || !isSupportedCurrency(input.currency)) {
    throw new DomainError('CURRENCY_NOT_SUPPORTED', `currency ${JSON.stringify(input.currency.slice(0, 8))} is not supported`, { field: ['input', 'currency'] });
  }
  if (input.amountMinor === null) return;
  if (input.amountMinor <= 0n) {
    throw new DomainError('INVALID_INPUT', 'amountMinor must be greater than zero', { field: ['input', 'amountMinor'] });
  }
  const maxMinor = maxAmountMinor(input.currency);
  if (input.amountMinor > maxMinor) {
    throw new DomainError('INVALID_INPUT', `amountMinor must be at most ${maxMinor} (${formatAmount(maxMinor, input.currency)} ${input.currency}) per payout`, { field: ['input', 'amountMinor'] });
  }
  const minimumMinor = minimumPayoutMinor(minimumMajor, input.currency);
  if (input.amountMinor < minimumMinor) {
    throw new DomainError('PAYOUT_BELOW_MINIMUM', `the minimum payout is ${formatAmount(minimumMinor, input.currency)} ${input.currency}`, { field: ['input', 'amountMinor'] });
  }
}

/**
 * The amount to pay when the whole available balance was asked for: capped at the per-payout
 * bound (the rest stays available for the next payout).
 */
export function wholeBalanceAmountMinor(availableMinor: bigint, currency: string): bigint {
  const maxMinor = maxAmountMinor(currency);
  return availableMinor > maxMinor ? maxMinor : availableMinor;
}

/** The error for a reservation the wallet refused, given what it reported available. */
export function reservationRefusal(input: PayoutRequestInput, availableMinor: bigint, minimumMajor: bigint): DomainError {
  const minimumMinor = minimumPayoutMinor(minimumMajor, input.currency);
  const available = `${formatAmount(availableMinor, input.currency)} ${input.currency}`;
  if (input.amountMinor === null && availableMinor > 0n && availableMinor < minimumMinor) {
    return new DomainError('PAYOUT_BELOW_MINIMUM', `the available balance ${available} is below the minimum payout of ${formatAmount(minimumMinor, input.currency)} ${input.currency}`, { field: ['input', 'currency'] });
  }
  return new DomainError('INSUFFICIENT_FUNDS', `the available balance is ${available}`, { field: input.amountMinor === null ? ['input', 'currency'] : ['input', 'amountMinor'] });
}
