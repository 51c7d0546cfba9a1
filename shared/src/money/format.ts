// Conversion between minor-unit integers and major-unit decimal strings ("19.99"). This is the
// only place decimals appear; it works on strings and bigints so no float ever touches money.
import { invariant } from '../invariant.js';
import { currencyExponent } from './currency.js';

export class AmountFormatError extends Error {
  override readonly name = 'AmountFormatError';
}

// Longer inputs are not amounts; the bound keeps hostile input from costing BigInt parsing time.
const AMOUNT_STRING_LENGTH_MAX = 64;

export function formatAmount(amountMinor: bigint, currency: string): string {
  invariant(typeof amountMinor === 'bigint', 'formatAmount: amountMinor must be a bigint');
  const exponent = currencyExponent(currency);
  const negative = amountMinor < 0n;
  const absoluteMinor = negative ? -amountMinor : amountMinor;
  const sign = negative ? '-' : '';
  if (exponent === 0) {
    return sign + absoluteMinor.toString();
  }
  const unit = 10n ** BigInt(exponent);
  const integerPart = (absoluteMinor / unit).toString();
  const fractionPart = (absoluteMinor % unit).toString().padStart(exponent, '0');
  return `${sign}${integerPart}.${fractionPart}`;
}

// Strict inverse of formatAmount. Accepted: optional '-', integer part without leading zeros
// ("0" alone is fine), optional '.' followed by 1..exponent digits. Everything else (spaces,
// '+', exponent notation, "1.", ".5", thousands separators) is rejected rather than guessed at.
export function parseAmount(major: string, currency: string): bigint {
  const exponent = currencyExponent(currency);
  if (typeof major !== 'string' || major.length === 0) {
    throw new AmountFormatError('amount must be a non-empty decimal string');
  }
  if (major.length > AMOUNT_STRING_LENGTH_MAX) {
    throw new AmountFormatError(`amount is longer than ${AMOUNT_STRING_LENGTH_MAX} characters`);
  }
  const fractionPattern = exponent === 0 ? '' : `(?:\\.([0-9]{1,${exponent}}))?`;
  const pattern = new RegExp(`^(-?)(0|[1-9][0-9]*)${fractionPattern}$`);
  const match = pattern.exec(major);
  if (match === null) {
    throw new AmountFormatError(
      exponent === 0
        ? `amount ${JSON.stringify(major)} is not a whole number of ${currency} (no decimals allowed)`
        : `amount ${JSON.stringify(major)} is not a decimal with at most ${exponent} decimal places`,
    );
  }
  const [, sign = '', integerDigits = '0', fractionDigits = ''] = match;
  const unit = 10n ** BigInt(exponent);
  const fractionMinor = fractionDigits === '' ? 0n : BigInt(fractionDigits.padEnd(exponent, '0'));
  const absoluteMinor = BigInt(integerDigits) * unit + fractionMinor;
  return sign === '-' ? -absoluteMinor : absoluteMinor;
}
