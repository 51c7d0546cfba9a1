// Payout events, produced by the payouts subgraph. amountMinor/currency are always in the seller's
// balance currency (what the wallet reserves); `fx` describes a payout sent in another currency.
import { z } from 'zod';
import { currencySchema, idSchema, positiveAmountMinorSchema, timestampSchema } from './primitives.js';

const RATE_DIGITS_MAX = 30;
const rateTermSchema = z
  .string()
  .regex(new RegExp(`^[1-9][0-9]{0,${RATE_DIGITS_MAX - 1}}$`), 'expected a positive integer string')
  .transform((digits) => BigInt(digits));

/**
 * A payout in a currency other than the balance currency. The rate is an exact fraction
 * (payout major units per balance major unit = rateNumerator / rateDenominator); payoutAmountMinor
 * is what the PSP actually sends, which may differ from the converted amount by rounding.
 */
export const payoutFxSchema = z
  .object({
    payoutCurrency: currencySchema,
    payoutAmountMinor: positiveAmountMinorSchema,
    rateNumerator: rateTermSchema,
    rateDenominator: rateTermSchema,
  })
  .optional();
export type PayoutFx = NonNullable<z.output<typeof payoutFxSchema>>;

const payoutBase = {
  payoutId: idSchema,
  sellerId: idSchema,
  currency: currencySchema,
  amountMinor: positiveAmountMinorSchema,
  fx: payoutFxSchema,
};

/** payout.requested@1: a payout was created; the amount is reserved in the wallet and moved to payouts_in_transit. */
export const payoutRequestedV1 = z.object({ ...payoutBase, requestedAt: timestampSchema });
export type PayoutRequestedV1 = z.output<typeof payoutRequestedV1>;

/** payout.paid@1: the PSP reports the payout paid. */
export const payoutPaidV1 = z.object({ ...payoutBase, pspPayoutId: idSchema, paidAt: timestampSchema });
export type PayoutPaidV1 = z.output<typeof payoutPaidV1>;

/** payout.failed@1: the payout failed before being paid; the reservation is released. */
export const payoutFailedV1 = z.object({
  ...payoutBase,
  pspPayoutId: idSchema.optional(),
  failureCode: z.string().max(200).optional(),
  failureMessage: z.string().max(2000).optional(),
  failedAt: timestampSchema,
});
export type PayoutFailedV1 = z.output<typeof payoutFailedV1>;
