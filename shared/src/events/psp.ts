// Events derived from the PSP's balance transactions.
import { z } from 'zod';
import { currencySchema, idSchema, positiveAmountMinorSchema, timestampSchema } from './primitives.js';

/** psp.fee_booked@1: the PSP charged feeMinor on a balance transaction (charge, refund, payout, dispute). */
export const pspFeeBookedV1 = z.object({
  balanceTransactionId: idSchema,
  currency: currencySchema,
  feeMinor: positiveAmountMinorSchema,
  /** The PSP object the fee belongs to (charge, refund, payout, dispute id). */
  sourceId: idSchema,
  bookedAt: timestampSchema,
});
export type PspFeeBookedV1 = z.output<typeof pspFeeBookedV1>;
