import { EVENT_SCHEMAS, LATEST_EVENT_VERSION, ROUTING_KEYS, parseEventPayload, planRefund, refundFeeReturnMinor, refundReversalFeeMinor, serializeEventPayload } from './index.js';

const wirePayment = {
  paymentId: 'pay_1',
  buyerId: 'buyer_1',
  currency: 'USD',
  amountMinor: '10000',
  pspPaymentIntentId: 'pi_1',
  succeededAt: '2025-01-15T12:00:00.000Z',
  orders: [
    { paymentOrderId: 'po_a', sellerId: 'A', amountMinor: '6000', feeMinor: '174', netAmountMinor: '5826' },
    { paymentOrderId: 'po_b', sellerId: 'B', amountMinor: '4000', feeMinor: '116', netAmountMinor: '3884' },
  ],
};

describe('event registry', () => {
  it('has a schema for the latest version of every routing key', () => {
    for (const type of Object.values(ROUTING_KEYS)) {
      expect(Object.keys(EVENT_SCHEMAS)).toContain(`${type}@${LATEST_EVENT_VERSION[type]}`);
    }
  });

  it('parses digit strings to bigint and timestamps to Date, and serializes back to the same wire form', () => {
    const parsed = parseEventPayload('payment.succeeded', 1, wirePayment);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(parsed.payload.amountMinor).toBe(10000n);
    expect(parsed.payload.orders[0]?.netAmountMinor).toBe(5826n);
    expect(parsed.payload.succeededAt).toEqual(new Date('2025-01-15T12:00:00.000Z'));
    expect(serializeEventPayload('payment.succeeded@1', parsed.payload)).toEqual(wirePayment);
  });

  it('rejects numbers, decimals, negative amounts, unsupported currencies and splits that do not add up', () => {
    const reasons = [
      { ...wirePayment, amountMinor: 10000 },
      { ...wirePayment, amountMinor: '100.00' },
      { ...wirePayment, amountMinor: '-1' },
      { ...wirePayment, currency: 'XXX' },
      { ...wirePayment, amountMinor: '10001' },
      { ...wirePayment, orders: [{ ...wirePayment.orders[0], feeMinor: '175' }, wirePayment.orders[1]] },
    ].map((payload) => parseEventPayload('payment.succeeded', 1, payload));
    for (const result of reasons) {
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toBe('INVALID_PAYLOAD');
    }
  });

  it('reports an unknown type or version', () => {
    const result = parseEventPayload('payment.succeeded', 2, wirePayment);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toBe('UNKNOWN_EVENT');
  });

  it('refuses to serialize an invalid payload', () => {
    const parsed = parseEventPayload('payment.succeeded', 1, wirePayment);
    if (!parsed.ok) throw new Error(parsed.message);
    expect(() => serializeEventPayload('payment.succeeded@1', { ...parsed.payload, amountMinor: 1n })).toThrow(/refusing/);
  });

  it('checks refund and dispute splits', () => {
    const refund = {
      refundId: 're', paymentId: 'p', paymentOrderId: 'po', sellerId: 'A', currency: 'JPY', amountMinor: '1000', feePolicy: 'platform_returns_fee_pro_rata',
      feeRefundMinor: '29', pendingMinor: '971', availableMinor: '0', pspRefundId: 'r', refundedAt: '2025-01-15T12:00:00Z',
    };
    expect(parseEventPayload('refund.succeeded', 1, refund).ok).toBe(true);
    expect(parseEventPayload('refund.succeeded', 1, { ...refund, pendingMinor: '970' }).ok).toBe(false);
    const reversed = {
      refundId: 're', paymentId: 'p', paymentOrderId: 'po', sellerId: 'A', currency: 'JPY', amountMinor: '1000',
      feeRefundMinor: '29', pendingMinor: '0', availableMinor: '971', pspRefundId: 'r', failureReason: 'expired_or_canceled_card', reversedAt: '2025-01-16T12:00:00Z',
    };
    expect(parseEventPayload('refund.reversed', 1, reversed).ok).toBe(true);
    expect(parseEventPayload('refund.reversed', 1, { ...reversed, availableMinor: '970' }).ok).toBe(false);
    expect(parseEventPayload('refund.reversed', 1, { ...reversed, failureReason: '' }).ok).toBe(false);
    const dispute = {
      disputeId: 'd', paymentId: 'p', pspDisputeId: 'du', currency: 'KWD', amountMinor: '1000', disputeFeeMinor: '500', disputeFeeBorneBy: 'platform',
      orders: [{ paymentOrderId: 'po', sellerId: 'A', pendingMinor: '400', availableMinor: '600', disputeFeeMinor: '0' }], openedAt: '2025-01-15T12:00:00+01:00',
    };
    expect(parseEventPayload('dispute.opened', 1, dispute).ok).toBe(true);
    expect(parseEventPayload('dispute.opened', 1, { ...dispute, disputeFeeBorneBy: 'seller' }).ok).toBe(false);
  });
});

describe('refund policies', () => {
  const order = { amountMinor: 6000n, feeMinor: 174n, refundedBeforeMinor: 0n, pendingHeldMinor: 5826n };
  it('platform_keeps_fee returns nothing; pro rata returns the exact fee on a full refund', () => {
    expect(refundFeeReturnMinor('platform_keeps_fee', order, 6000n)).toBe(0n);
    expect(refundFeeReturnMinor('platform_returns_fee_pro_rata', order, 6000n)).toBe(174n);
    expect(planRefund('platform_returns_fee_pro_rata', order, 6000n)).toEqual({ feeRefundMinor: 174n, pendingMinor: 5826n, availableMinor: 0n });
  });
  it('refuses refunds beyond the order amount', () => {
    expect(() => refundFeeReturnMinor('platform_keeps_fee', { ...order, refundedBeforeMinor: 5000n }, 1001n)).toThrow(RangeError);
  });
  it('a reversal takes back what leaves the fee returned at the share of what stays refunded', () => {
    // Refunds of 1 (fee 0) then 34 (fee 1): reversing the first leaves 34 refunded, whose share is 0.
    expect(refundReversalFeeMinor('platform_returns_fee_pro_rata', order, 35n, { amountMinor: 1n, feeRefundMinor: 0n })).toBe(1n);
    expect(refundReversalFeeMinor('platform_returns_fee_pro_rata', order, 35n, { amountMinor: 34n, feeRefundMinor: 1n })).toBe(1n);
    expect(refundReversalFeeMinor('platform_returns_fee_pro_rata', order, 6000n, { amountMinor: 6000n, feeRefundMinor: 174n })).toBe(174n);
    expect(refundReversalFeeMinor('platform_keeps_fee', order, 35n, { amountMinor: 1n, feeRefundMinor: 0n })).toBe(0n);
    expect(() => refundReversalFeeMinor('platform_returns_fee_pro_rata', order, 35n, { amountMinor: 36n, feeRefundMinor: 1n })).toThrow(RangeError);
    expect(() => refundReversalFeeMinor('platform_returns_fee_pro_rata', order, 6001n, { amountMinor: 1n, feeRefundMinor: 0n })).toThrow(RangeError);
    expect(() => refundReversalFeeMinor('platform_returns_fee_pro_rata', order, 35n, { amountMinor: 1n, feeRefundMinor: 2n })).toThrow(RangeError);
  });
});
