// Builders of parsed event payloads for the ledger's tests (not used by production code).
import type { DisputeOpenedV1, FeeSchedule, PaymentSucceededV1, PayoutRequestedV1, RefundReversedV1, RefundSucceededV1 } from '@clearhouse/shared';
import { computeFee } from '@clearhouse/shared';

export const AT = new Date('2025-01-15T12:00:00.000Z');
export const DEFAULT_FEE_SCHEDULE: FeeSchedule = { percentBps: 290n, fixedMinor: 0n };

export interface OrderSpec {
  readonly sellerId: string;
  readonly amountMinor: bigint;
}

export function paymentSucceeded(
  orders: readonly OrderSpec[],
  options: { currency?: string; schedule?: FeeSchedule; paymentId?: string } = {},
): PaymentSucceededV1 {
  const schedule = options.schedule ?? DEFAULT_FEE_SCHEDULE;
  const paymentId = options.paymentId ?? 'pay_1';
  let amountMinor = 0n;
  const built = orders.map((order, index) => {
    const feeMinor = computeFee(order.amountMinor, schedule);
    amountMinor += order.amountMinor;
    return {
      paymentOrderId: `${paymentId}_po_${index}`,
      sellerId: order.sellerId,
      amountMinor: order.amountMinor,
      feeMinor,
      netAmountMinor: order.amountMinor - feeMinor,
    };
  });
  return {
    paymentId,
    buyerId: 'buyer_1',
    currency: options.currency ?? 'USD',
    amountMinor,
    pspPaymentIntentId: `pi_${paymentId}`,
    succeededAt: AT,
    orders: built,
  };
}

export function refundSucceeded(overrides: Partial<RefundSucceededV1> = {}): RefundSucceededV1 {
  return {
    refundId: 're_1',
    paymentId: 'pay_1',
    paymentOrderId: 'pay_1_po_0',
    sellerId: 'A',
    currency: 'USD',
    amountMinor: 1000n,
    feePolicy: 'platform_keeps_fee',
    feeRefundMinor: 0n,
    pendingMinor: 1000n,
    availableMinor: 0n,
    pspRefundId: 'pyr_1',
    refundedAt: AT,
    ...overrides,
  };
}

/** refund.reversed@1 undoing refundSucceeded(overrides) with the same split. */
export function refundReversed(overrides: Partial<RefundSucceededV1> = {}, reversal: Partial<RefundReversedV1> = {}): RefundReversedV1 {
  const { feePolicy: _feePolicy, refundedAt: _refundedAt, ...refund } = refundSucceeded(overrides);
  return { ...refund, failureReason: 'expired_or_canceled_card', reversedAt: AT, ...reversal };
}

export function payoutRequested(overrides: Partial<PayoutRequestedV1> = {}): PayoutRequestedV1 {
  return { payoutId: 'po_1', sellerId: 'A', currency: 'USD', amountMinor: 5000n, requestedAt: AT, ...overrides };
}

export function disputeOpened(overrides: Partial<DisputeOpenedV1> = {}): DisputeOpenedV1 {
  return {
    disputeId: 'dp_1',
    paymentId: 'pay_1',
    pspDisputeId: 'du_1',
    currency: 'USD',
    amountMinor: 6000n,
    disputeFeeMinor: 1500n,
    disputeFeeBorneBy: 'platform',
    orders: [{ paymentOrderId: 'pay_1_po_0', sellerId: 'A', pendingMinor: 5826n, availableMinor: 174n, disputeFeeMinor: 0n }],
    openedAt: AT,
    ...overrides,
  };
}
