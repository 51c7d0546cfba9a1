import fc from 'fast-check';
import { planRefund, type RefundFeePolicy } from '@clearhouse/shared';
import { decideDelivery, decideRefund, orderStatusAfterRefundReversal, paymentStatusAfterRefundReversal, planDisputeHolds, planDisputeReturn, planRefundReversal, refundableMinor, type AftersaleOrder, type RefundSplit } from './aftersale.js';
import { canTransitionOrder, nextOrderStatus, nextOrderStatusAfterRefundReversal } from './order-status.js';

function order(overrides: Partial<AftersaleOrder> = {}): AftersaleOrder {
  return {
    id: 'ord_a',
    sellerId: 's_a',
    amountMinor: 6000n,
    feeMinor: 174n,
    netAmountMinor: 5826n,
    status: 'SUCCEEDED',
    refundedAmountMinor: 0n,
    reservedRefundMinor: 0n,
    pendingHeldMinor: 5826n,
    deliveredAt: null,
    releasedAt: null,
    ...overrides,
  };
}

describe('refunds', () => {
  test('refundable = amount − refunded − reserved; omitted amount takes all of it', () => {
    const o = order({ refundedAmountMinor: 1000n, reservedRefundMinor: 500n });
    expect(refundableMinor(o)).toBe(4500n);
    expect(decideRefund('PARTIALLY_REFUNDED', o, null)).toEqual({ kind: 'refund', amountMinor: 4500n });
    expect(decideRefund('PARTIALLY_REFUNDED', o, 4501n).kind).toBe('exceeds_refundable');
    expect(decideRefund('REFUNDED', order({ status: 'REFUNDED', refundedAmountMinor: 6000n }), null).kind).toBe('exceeds_refundable');
  });

  test('not before success, not during a dispute', () => {
    expect(decideRefund('REQUIRES_PAYMENT', order({ status: 'PENDING' }), 1n).kind).toBe('invalid_state');
    expect(decideRefund('DISPUTED', order(), 1n).kind).toBe('invalid_state');
    expect(decideRefund('SUCCEEDED', order({ status: 'DELIVERED' }), 1n).kind).toBe('refund');
    // A three-decimal currency's PSP step (10): a requested amount must be a multiple of it; the rest
    // of an order whose amount and earlier refunds are multiples is one too.
    expect(decideRefund('SUCCEEDED', order(), 4505n, 10n).kind).toBe('invalid_amount');
    expect(decideRefund('SUCCEEDED', order(), 4500n, 10n)).toEqual({ kind: 'refund', amountMinor: 4500n });
    expect(decideRefund('SUCCEEDED', order(), null, 10n).kind).toBe('refund');
  });

  test('property: any sequence of refunds stays within the order, and the plans add up', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 1n, max: 7000n }), { maxLength: 20 }), fc.constantFrom('platform_keeps_fee' as const, 'platform_returns_fee_pro_rata' as const), (requests, policy) => {
        let o = order();
        let feeReturned = 0n;
        for (const requested of requests) {
          const decision = decideRefund('SUCCEEDED', o, requested);
          if (decision.kind !== 'refund') continue;
          const plan = planRefund(policy, { amountMinor: o.amountMinor, feeMinor: o.feeMinor, refundedBeforeMinor: o.refundedAmountMinor, pendingHeldMinor: o.pendingHeldMinor }, decision.amountMinor);
          expect(plan.feeRefundMinor + plan.pendingMinor + plan.availableMinor).toBe(decision.amountMinor);
          feeReturned += plan.feeRefundMinor;
          o = { ...o, refundedAmountMinor: o.refundedAmountMinor + decision.amountMinor, pendingHeldMinor: o.pendingHeldMinor - plan.pendingMinor };
          expect(o.pendingHeldMinor >= 0n).toBe(true);
        }
        expect(o.refundedAmountMinor <= o.amountMinor).toBe(true);
        expect(feeReturned <= o.feeMinor).toBe(true);
        if (o.refundedAmountMinor === o.amountMinor && policy === 'platform_returns_fee_pro_rata') expect(feeReturned).toBe(o.feeMinor);
      }),
    );
  });
});

describe('delivery', () => {
  test('only succeeded or partially refunded orders; a second delivery is a no-op', () => {
    expect(decideDelivery('SUCCEEDED', order())).toEqual({ kind: 'deliver' });
    expect(decideDelivery('PARTIALLY_REFUNDED', order({ status: 'PARTIALLY_REFUNDED' }))).toEqual({ kind: 'deliver' });
    expect(decideDelivery('REQUIRES_PAYMENT', order({ status: 'PENDING' })).kind).toBe('invalid_state');
    expect(decideDelivery('REFUNDED', order({ status: 'REFUNDED' })).kind).toBe('invalid_state');
    expect(decideDelivery('SUCCEEDED', order({ status: 'DELIVERED', deliveredAt: new Date() }))).toEqual({ kind: 'already_delivered' });
  });

  test('order transition table', () => {
    expect(nextOrderStatus('SUCCEEDED', 'DELIVERED')).toBe('DELIVERED');
    expect(nextOrderStatus('DELIVERED', 'PARTIALLY_REFUNDED')).toBe('PARTIALLY_REFUNDED');
    expect(canTransitionOrder('REFUNDED', 'DELIVERED')).toBe(false);
    expect(() => nextOrderStatus('PENDING', 'DELIVERED')).toThrow('illegal payment order transition');
  });
});

describe('disputes', () => {
  const orders = [order(), order({ id: 'ord_b', sellerId: 's_b', amountMinor: 4000n, feeMinor: 116n, netAmountMinor: 3884n, pendingHeldMinor: 3884n })];

  test('split by order amounts, pending first; the fee split only when sellers bear it', () => {
    expect(planDisputeHolds(orders, 10000n, 1500n, 'platform')).toEqual([
      { paymentOrderId: 'ord_a', sellerId: 's_a', pendingMinor: 5826n, availableMinor: 174n, disputeFeeMinor: 0n },
      { paymentOrderId: 'ord_b', sellerId: 's_b', pendingMinor: 3884n, availableMinor: 116n, disputeFeeMinor: 0n },
    ]);
    const sellerBears = planDisputeHolds(orders, 10000n, 1501n, 'seller');
    expect(sellerBears.map((h) => h.disputeFeeMinor)).toEqual([901n, 600n]);
  });

  test('property: holds add up to the disputed amount; fee parts to the fee', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10000n }), fc.bigInt({ min: 0n, max: 5000n }), (disputed, fee) => {
        const holds = planDisputeHolds(orders, disputed, fee, 'seller');
        expect(holds.reduce((sum, h) => sum + h.pendingMinor + h.availableMinor, 0n)).toBe(disputed);
        expect(holds.reduce((sum, h) => sum + h.disputeFeeMinor, 0n)).toBe(fee);
      }),
    );
  });

  test('returns go where they came from, or to available once the order was released', () => {
    const holds = planDisputeHolds(orders, 10000n, 0n, 'platform');
    expect(planDisputeReturn(holds, new Set())).toEqual(holds.map((h) => ({ paymentOrderId: h.paymentOrderId, sellerId: h.sellerId, pendingMinor: h.pendingMinor, availableMinor: h.availableMinor })));
    expect(planDisputeReturn(holds, new Set(['ord_a']))[0]).toEqual({ paymentOrderId: 'ord_a', sellerId: 's_a', pendingMinor: 0n, availableMinor: 6000n });
  });
});

describe('a refund that fails after it succeeded (refund reversal)', () => {
  const refund = { feeRefundMinor: 29n, pendingMinor: 700n, availableMinor: 271n };

  test('the split goes back as taken, or all to available once the order was released', () => {
    const refunded = order({ status: 'PARTIALLY_REFUNDED', refundedAmountMinor: 1000n });
    expect(planRefundReversal('platform_returns_fee_pro_rata', refunded, refund)).toEqual({ feeRefundMinor: 29n, pendingMinor: 700n, availableMinor: 271n });
    expect(planRefundReversal('platform_returns_fee_pro_rata', { ...refunded, releasedAt: new Date() }, refund)).toEqual({ feeRefundMinor: 29n, pendingMinor: 0n, availableMinor: 971n });
  });

  test('property: platform_keeps_fee: the reversal gives back exactly what the refund took', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.bigInt({ min: 0n, max: 10n ** 12n }), fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.boolean(), (feeRefundMinor, pendingMinor, availableMinor, released) => {
        const amountMinor = feeRefundMinor + pendingMinor + availableMinor;
        const refunded = order({ amountMinor, feeMinor: feeRefundMinor, refundedAmountMinor: amountMinor, releasedAt: released ? new Date() : null });
        const back = planRefundReversal('platform_keeps_fee', refunded, { feeRefundMinor, pendingMinor, availableMinor });
        expect(back.feeRefundMinor).toBe(feeRefundMinor);
        expect(back.pendingMinor + back.availableMinor).toBe(pendingMinor + availableMinor);
        expect(back).toEqual(released ? { feeRefundMinor, pendingMinor: 0n, availableMinor: pendingMinor + availableMinor } : { feeRefundMinor, pendingMinor, availableMinor });
      }),
    );
  });

  test('property: reversing the latest refund gives back exactly what it took, under either policy', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 1n, max: 10n ** 9n }),
        fc.nat({ max: 10_000 }),
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        fc.bigInt({ min: 0n, max: 10n ** 9n }),
        fc.constantFrom('platform_keeps_fee' as const, 'platform_returns_fee_pro_rata' as const),
        fc.boolean(),
        (amountMinor, feeBps, refundedSeed, refundSeed, heldSeed, policy, released) => {
          const feeMinor = (amountMinor * BigInt(feeBps)) / 10_000n;
          const refundedBeforeMinor = refundedSeed % amountMinor;
          const refundMinor = 1n + (refundSeed % (amountMinor - refundedBeforeMinor));
          const pendingHeldMinor = heldSeed % (amountMinor - feeMinor + 1n);
          const plan = planRefund(policy, { amountMinor, feeMinor, refundedBeforeMinor, pendingHeldMinor }, refundMinor);
          const refunded = order({ amountMinor, feeMinor, refundedAmountMinor: refundedBeforeMinor + refundMinor, pendingHeldMinor: pendingHeldMinor - plan.pendingMinor, releasedAt: released ? new Date() : null });
          const back = planRefundReversal(policy, refunded, plan);
          expect(back.feeRefundMinor).toBe(plan.feeRefundMinor);
          expect(back).toEqual(released ? { feeRefundMinor: plan.feeRefundMinor, pendingMinor: 0n, availableMinor: plan.pendingMinor + plan.availableMinor } : plan);
        },
      ),
    );
  });

  /**
   * One order's refunds as the application books them: a refund is planned with planRefund on the
   * sum of the SUCCEEDED refunds, a reversal undoes a SUCCEEDED one with planRefundReversal; the fee
   * returned is what the refunds returned minus what the reversals took back.
   */
  function refundBook(policy: RefundFeePolicy, start: AftersaleOrder = order()) {
    let o = start;
    let feeReturnedMinor = 0n;
    const succeeded: RefundSplit[] = [];
    return {
      get order() {
        return o;
      },
      get feeReturnedMinor() {
        return feeReturnedMinor;
      },
      get succeeded(): readonly RefundSplit[] {
        return succeeded;
      },
      refund(amountMinor: bigint): RefundSplit {
        const plan = planRefund(policy, { amountMinor: o.amountMinor, feeMinor: o.feeMinor, refundedBeforeMinor: o.refundedAmountMinor, pendingHeldMinor: o.pendingHeldMinor }, amountMinor);
        o = { ...o, refundedAmountMinor: o.refundedAmountMinor + amountMinor, pendingHeldMinor: o.pendingHeldMinor - plan.pendingMinor };
        feeReturnedMinor += plan.feeRefundMinor;
        succeeded.push(plan);
        return plan;
      },
      reverse(index: number): RefundSplit {
        const [refund] = succeeded.splice(index, 1);
        if (!refund) throw new Error(`no succeeded refund #${index}`);
        const back = planRefundReversal(policy, o, refund);
        const amountMinor = refund.feeRefundMinor + refund.pendingMinor + refund.availableMinor;
        expect(back.feeRefundMinor + back.pendingMinor + back.availableMinor).toBe(amountMinor);
        o = { ...o, refundedAmountMinor: o.refundedAmountMinor - amountMinor, pendingHeldMinor: o.pendingHeldMinor + back.pendingMinor };
        feeReturnedMinor -= back.feeRefundMinor;
        return back;
      },
    };
  }

  /** Finance's rule: the pro-rata share (rounded down) of what is refunded net of reversals; all of the fee once fully refunded. */
  function expectedFeeReturnedMinor(o: AftersaleOrder): bigint {
    return (o.feeMinor * o.refundedAmountMinor) / o.amountMinor;
  }

  test('pro rata: a reversed partial refund leaves the fee returned at the share of what stays refunded; the full refund then returns exactly the rest', () => {
    // 6000 with a fee of 174: 1 returns no fee, 34 more cross the first unit (floor(174 × 35 / 6000) = 1).
    const book = refundBook('platform_returns_fee_pro_rata');
    expect(book.refund(1n).feeRefundMinor).toBe(0n);
    expect(book.refund(34n).feeRefundMinor).toBe(1n);
    // The first refund fails at the PSP: 34 stay refunded, whose share is floor(174 × 34 / 6000) = 0.
    book.reverse(0);
    expect(book.order.refundedAmountMinor).toBe(34n);
    expect(book.feeReturnedMinor).toBe(0n);
    book.refund(refundableMinor(book.order));
    expect(book.order.refundedAmountMinor).toBe(6000n);
    expect(book.feeReturnedMinor).toBe(174n);
  });

  test('property: after any refunds and reversals the fee returned is the pro-rata share of what stays refunded, exactly the fee once fully refunded', () => {
    const step = fc.oneof(fc.record({ refund: fc.bigInt({ min: 1n, max: 7000n }) }), fc.record({ reverse: fc.nat() }));
    fc.assert(
      fc.property(
        fc.array(step, { maxLength: 25 }),
        fc.constantFrom('platform_keeps_fee' as const, 'platform_returns_fee_pro_rata' as const),
        fc.bigInt({ min: 1n, max: 20_000n }),
        fc.nat({ max: 10_000 }),
        fc.boolean(),
        (steps, policy, amountMinor, feeBps, released) => {
          const feeMinor = (amountMinor * BigInt(feeBps)) / 10_000n;
          const book = refundBook(policy, order({ amountMinor, feeMinor, netAmountMinor: amountMinor - feeMinor, pendingHeldMinor: released ? 0n : amountMinor - feeMinor, releasedAt: released ? new Date() : null }));
          for (const next of [...steps, { refund: amountMinor }]) {
            if ('reverse' in next) {
              if (book.succeeded.length > 0) book.reverse(next.reverse % book.succeeded.length);
            } else {
              const decision = decideRefund('SUCCEEDED', book.order, next.refund < refundableMinor(book.order) ? next.refund : null);
              if (decision.kind === 'refund') book.refund(decision.amountMinor);
            }
            expect(book.feeReturnedMinor).toBe(policy === 'platform_keeps_fee' ? 0n : expectedFeeReturnedMinor(book.order));
            expect(book.order.pendingHeldMinor >= 0n).toBe(true);
          }
          // The last step refunds whatever is left: the order is fully refunded.
          expect(book.order.refundedAmountMinor).toBe(amountMinor);
          expect(book.feeReturnedMinor).toBe(policy === 'platform_keeps_fee' ? 0n : feeMinor);
        },
      ),
    );
  });

  test('order and payment statuses follow what is still refunded', () => {
    expect(orderStatusAfterRefundReversal(order({ status: 'REFUNDED' }), 1000n)).toBe('PARTIALLY_REFUNDED');
    expect(orderStatusAfterRefundReversal(order({ status: 'REFUNDED' }), 0n)).toBe('SUCCEEDED');
    expect(orderStatusAfterRefundReversal(order({ status: 'PARTIALLY_REFUNDED', deliveredAt: new Date() }), 0n)).toBe('DELIVERED');
    expect(orderStatusAfterRefundReversal(order({ status: 'DELIVERED', deliveredAt: new Date() }), 500n)).toBe('DELIVERED');
    expect(paymentStatusAfterRefundReversal(1n)).toBe('PARTIALLY_REFUNDED');
    expect(paymentStatusAfterRefundReversal(0n)).toBe('SUCCEEDED');
  });

  test('the order moves back only through the reversal table', () => {
    expect(nextOrderStatusAfterRefundReversal('REFUNDED', 'PARTIALLY_REFUNDED')).toBe('PARTIALLY_REFUNDED');
    expect(nextOrderStatusAfterRefundReversal('REFUNDED', 'SUCCEEDED')).toBe('SUCCEEDED');
    expect(nextOrderStatusAfterRefundReversal('REFUNDED', 'DELIVERED')).toBe('DELIVERED');
    expect(nextOrderStatusAfterRefundReversal('PARTIALLY_REFUNDED', 'DELIVERED')).toBe('DELIVERED');
    expect(nextOrderStatusAfterRefundReversal('PARTIALLY_REFUNDED', 'PARTIALLY_REFUNDED')).toBe('PARTIALLY_REFUNDED');
    expect(() => nextOrderStatusAfterRefundReversal('SUCCEEDED', 'REFUNDED')).toThrow(/illegal/);
    expect(() => nextOrderStatusAfterRefundReversal('FAILED', 'SUCCEEDED')).toThrow(/illegal/);
    // The ordinary table still never moves an order backwards.
    expect(canTransitionOrder('REFUNDED', 'PARTIALLY_REFUNDED')).toBe(false);
  });
});
