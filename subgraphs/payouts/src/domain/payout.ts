// The payout entity and the payloads of the events it produces. Pure.
import type { PayoutFailedV1, PayoutFx, PayoutPaidV1, PayoutRequestedV1 } from '@clearhouse/shared';
import type { PayoutStatus } from './payout-status.js';

export interface PayoutFxRecord {
  readonly rateNumerator: bigint;
  readonly rateDenominator: bigint;
}

export interface Payout {
  readonly id: string;
  readonly sellerId: string;
  /** The balance currency and amount: what the wallet reserved and the ledger debits. */
  readonly currency: string;
  readonly amountMinor: bigint;
  /** What the PSP sends; equal to currency/amountMinor unless fx is set. */
  readonly payoutCurrency: string;
  readonly payoutAmountMinor: bigint;
  readonly fx: PayoutFxRecord | null;
  readonly destination: string;
  readonly status: PayoutStatus;
  readonly pspPayoutId: string | null;
  readonly failureCode: string | null;
  readonly failureMessage: string | null;
  readonly requestedBy: string;
  readonly idempotencyKey: string;
  readonly createdAt: Date;
  readonly updatedAt: Date;
  readonly paidAt: Date | null;
  readonly failedAt: Date | null;
  readonly version: number;
}

function eventFx(payout: Payout): PayoutFx | undefined {
  if (payout.fx === null) return undefined;
  return {
    payoutCurrency: payout.payoutCurrency,
    payoutAmountMinor: payout.payoutAmountMinor,
    rateNumerator: payout.fx.rateNumerator,
    rateDenominator: payout.fx.rateDenominator,
  };
}

function base(payout: Payout) {
  return { payoutId: payout.id, sellerId: payout.sellerId, currency: payout.currency, amountMinor: payout.amountMinor, fx: eventFx(payout) };
}

export function payoutRequestedPayload(payout: Payout): PayoutRequestedV1 {
  return { ...base(payout), requestedAt: payout.createdAt };
}

export function payoutPaidPayload(payout: Payout, pspPayoutId: string, paidAt: Date): PayoutPaidV1 {
  return { ...base(payout), pspPayoutId, paidAt };
}

export function payoutFailedPayload(payout: Payout, failure: { pspPayoutId: string | null; failureCode: string; failureMessage: string | null; failedAt: Date }): PayoutFailedV1 {
  return {
    ...base(payout),
    ...(failure.pspPayoutId ? { pspPayoutId: failure.pspPayoutId } : {}),
    failureCode: failure.failureCode.slice(0, 200),
    ...(failure.failureMessage ? { failureMessage: failure.failureMessage.slice(0, 2000) } : {}),
    failedAt: failure.failedAt,
  };
}
