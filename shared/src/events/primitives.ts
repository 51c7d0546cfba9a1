// Wire primitives shared by every event schema. Amounts travel as strings of digits because JSON
// cannot carry a bigint; the schemas parse them to bigint so consumers never see a number.
import { z } from 'zod';
import { isSupportedCurrency } from '../money/index.js';

/** Longest accepted amount string: 30 digits is far above any real balance, and bounds parsing. */
const AMOUNT_DIGITS_MAX = 30;
const ID_LENGTH_MAX = 200;

/** A non-negative amount in minor units, as a string of digits on the wire, a bigint once parsed. */
export const amountMinorSchema = z
  .string()
  .regex(new RegExp(`^(0|[1-9][0-9]{0,${AMOUNT_DIGITS_MAX - 1}})$`), 'expected a non-negative integer string')
  .transform((digits) => BigInt(digits));

/** A strictly positive amount in minor units. */
export const positiveAmountMinorSchema = amountMinorSchema.refine((amountMinor) => amountMinor > 0n, {
  message: 'expected an amount greater than zero',
});

/** ISO 4217 alphabetic code of a currency Clearhouse supports (shared/src/money). */
export const currencySchema = z
  .string()
  .regex(/^[A-Z]{3}$/, 'expected an ISO 4217 currency code')
  .refine((currency) => isSupportedCurrency(currency), { message: 'unsupported currency' });

export const idSchema = z.string().min(1).max(ID_LENGTH_MAX);

/** An ISO 8601 timestamp with offset on the wire, a Date once parsed. */
export const timestampSchema = z.iso.datetime({ offset: true }).transform((iso) => new Date(iso));

/**
 * How a seller-side debit (refund, dispute hold) or credit (dispute won) splits between the
 * seller's pending and available balances. The producer (payments) decides it from the order's
 * delivery state, so the ledger and the wallet apply the identical numbers.
 */
export const sellerSplitSchema = z.object({
  paymentOrderId: idSchema,
  sellerId: idSchema,
  pendingMinor: amountMinorSchema,
  availableMinor: amountMinorSchema,
});
export type SellerSplit = z.output<typeof sellerSplitSchema>;

export function sumMinor(amountsMinor: readonly bigint[]): bigint {
  let totalMinor = 0n;
  for (const amountMinor of amountsMinor) totalMinor += amountMinor;
  return totalMinor;
}
