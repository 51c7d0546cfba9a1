// Wallet events, produced by the wallet subgraph (consumed by the gateway for subscriptions).
import { z } from 'zod';
import { currencySchema, idSchema, timestampSchema } from './primitives.js';

/** A signed amount: a wallet balance may be negative (a refund or dispute after payout). */
const signedAmountMinorSchema = z
  .string()
  .regex(/^(0|-?[1-9][0-9]{0,29})$/, 'expected an integer string')
  .transform((digits) => BigInt(digits));

/** wallet.balance_changed@1: a seller's balance in one currency after a change. */
export const walletBalanceChangedV1 = z.object({
  sellerId: idSchema,
  currency: currencySchema,
  pendingMinor: signedAmountMinorSchema,
  availableMinor: signedAmountMinorSchema,
  reservedMinor: signedAmountMinorSchema,
  /** The wallet row's version after the change, so subscribers can drop stale updates. */
  version: z.number().int().nonnegative(),
  causationEventId: idSchema.optional(),
  at: timestampSchema,
});
export type WalletBalanceChangedV1 = z.output<typeof walletBalanceChangedV1>;
