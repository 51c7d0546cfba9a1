// Property tests: every rule balances per currency for arbitrary amounts, splits, fee schedules
// and currencies, and no rounding creates or loses a minor unit.
import fc from 'fast-check';
import { allocateByRatios, maxAmountMinor, planRefund, planSellerDebit } from '@clearhouse/shared';
import type { FeeSchedule, RefundFeePolicy } from '@clearhouse/shared';
import { AT, paymentSucceeded } from './builders.test-support.js';
import {
  applyTransaction,
  convertMinor,
  fxDifferenceToleranceMinor,
  postDisputeLost,
  postDisputeOpened,
  postDisputeWon,
  postPaymentSucceeded,
  postPayoutFailed,
  postPayoutRequested,
  postRefundSucceeded,
  reverseTransaction,
  trialBalanceByCurrency,
  validateTransaction,
} from './index.js';
import type { JournalTransactionDraft, PostingResult } from './index.js';

const CURRENCIES = ['USD', 'EUR', 'JPY', 'KWD', 'BHD', 'KRW'] as const;
const currencyArb = fc.constantFrom(...CURRENCIES);
const sellerArb = fc.constantFrom('A', 'B', 'C', 'seller-42', 'S_9');
const scheduleArb: fc.Arbitrary<FeeSchedule> = fc.record({
  percentBps: fc.bigInt({ min: 0n, max: 3000n }),
  fixedMinor: fc.bigInt({ min: 0n, max: 1000n }),
});
const ordersArb = (currency: string) =>
  fc.array(fc.record({ sellerId: sellerArb, amountMinor: fc.bigInt({ min: 1n, max: maxAmountMinor(currency) / 50n }) }), { minLength: 1, maxLength: 50 });
const paymentArb = currencyArb.chain((currency) =>
  fc.tuple(fc.constant(currency), ordersArb(currency), scheduleArb).map(([c, orders, schedule]) => paymentSucceeded(orders, { currency: c, schedule })),
);

function posted(result: PostingResult): JournalTransactionDraft {
  if (result.kind !== 'post') throw new Error(`expected a posting, got ${result.kind === 'rejected' ? result.error.message : result.reason}`);
  return result.transaction;
}

function expectBalancedPerCurrency(transaction: JournalTransactionDraft): void {
  expect(validateTransaction(transaction)).toEqual({ ok: true });
  const netByCurrency = new Map<string, bigint>();
  for (const entry of transaction.entries) {
    netByCurrency.set(entry.currency, (netByCurrency.get(entry.currency) ?? 0n) + (entry.direction === 'DEBIT' ? entry.amountMinor : -entry.amountMinor));
  }
  for (const netMinor of netByCurrency.values()) expect(netMinor).toBe(0n);
}

function sumOf(transaction: JournalTransactionDraft, predicate: (code: string) => boolean, direction: 'DEBIT' | 'CREDIT'): bigint {
  let totalMinor = 0n;
  for (const entry of transaction.entries) if (entry.direction === direction && predicate(entry.accountCode)) totalMinor += entry.amountMinor;
  return totalMinor;
}

describe('posting rules (properties)', () => {
  it('payment succeeded balances and seller nets + fees = total, for 1–50 orders, any schedule and currency', () => {
    fc.assert(
      fc.property(paymentArb, (payment) => {
        const transaction = posted(postPaymentSucceeded(payment));
        expectBalancedPerCurrency(transaction);
        const netsMinor = sumOf(transaction, (code) => code.startsWith('seller_pending:'), 'CREDIT');
        const feesMinor = sumOf(transaction, (code) => code === 'platform_fee_revenue', 'CREDIT');
        expect(netsMinor + feesMinor).toBe(payment.amountMinor);
        expect(sumOf(transaction, (code) => code === 'psp_receivable', 'DEBIT')).toBe(payment.amountMinor);
        expect(trialBalanceByCurrency(applyTransaction(new Map(), transaction)).get(payment.currency)).toBe(0n);
      }),
      { numRuns: 300 },
    );
  });

  it('any sequence of partial refunds: parts add up, fee returns never exceed the fee, a full refund returns it exactly', () => {
    const refundArb = fc.record({
      currency: currencyArb,
      amountMinor: fc.bigInt({ min: 1n, max: 10_000_000n }),
      schedule: scheduleArb,
      policy: fc.constantFrom<RefundFeePolicy>('platform_keeps_fee', 'platform_returns_fee_pro_rata'),
      cuts: fc.array(fc.bigInt({ min: 1n, max: 1000n }), { minLength: 1, maxLength: 10 }),
      delivered: fc.boolean(),
    });
    fc.assert(
      fc.property(refundArb, ({ currency, amountMinor, schedule, policy, cuts, delivered }) => {
        const payment = paymentSucceeded([{ sellerId: 'A', amountMinor }], { currency, schedule });
        const order = payment.orders[0];
        if (order === undefined) throw new Error('fixture');
        // The refunds split the whole order amount (largest remainder), so the sequence ends fully refunded.
        const refundsMinor = allocateByRatios(amountMinor, cuts).filter((part) => part > 0n);
        let refundedBeforeMinor = 0n;
        let feeReturnedMinor = 0n;
        let pendingHeldMinor = delivered ? 0n : order.netAmountMinor;
        for (const [index, refundMinor] of refundsMinor.entries()) {
          const plan = planRefund(policy, { amountMinor, feeMinor: order.feeMinor, refundedBeforeMinor, pendingHeldMinor }, refundMinor);
          expect(plan.feeRefundMinor + plan.pendingMinor + plan.availableMinor).toBe(refundMinor);
          const transaction = posted(
            postRefundSucceeded({
              refundId: `re_${index}`, paymentId: payment.paymentId, paymentOrderId: order.paymentOrderId, sellerId: 'A', currency,
              amountMinor: refundMinor, feePolicy: policy, pspRefundId: `pyr_${index}`, refundedAt: AT, ...plan,
            }),
          );
          expectBalancedPerCurrency(transaction);
          refundedBeforeMinor += refundMinor;
          feeReturnedMinor += plan.feeRefundMinor;
          pendingHeldMinor -= plan.pendingMinor;
          expect(feeReturnedMinor <= order.feeMinor).toBe(true);
          expect(pendingHeldMinor >= 0n).toBe(true);
        }
        expect(refundedBeforeMinor).toBe(amountMinor);
        expect(feeReturnedMinor).toBe(policy === 'platform_keeps_fee' ? 0n : order.feeMinor);
      }),
      { numRuns: 300 },
    );
  });

  it('disputes split over 1–50 orders balance, and opened + won leaves only the dispute fee on the books', () => {
    const disputeArb = paymentArb.chain((payment) =>
      fc.record({
        payment: fc.constant(payment),
        disputedMinor: fc.bigInt({ min: 1n, max: payment.amountMinor }),
        disputeFeeMinor: fc.bigInt({ min: 0n, max: 5000n }),
        feeBorneBySeller: fc.boolean(),
        lossBorneBySeller: fc.boolean(),
        deliveredMask: fc.array(fc.boolean(), { minLength: 50, maxLength: 50 }),
      }),
    );
    fc.assert(
      fc.property(disputeArb, ({ payment, disputedMinor, disputeFeeMinor, feeBorneBySeller, lossBorneBySeller, deliveredMask }) => {
        const holdsMinor = allocateByRatios(disputedMinor, payment.orders.map((order) => order.amountMinor));
        const feeSharesMinor = feeBorneBySeller ? allocateByRatios(disputeFeeMinor, payment.orders.map((order) => order.amountMinor)) : payment.orders.map(() => 0n);
        const orders = payment.orders.map((order, index) => {
          const pendingHeldMinor = deliveredMask[index] === true ? 0n : order.netAmountMinor;
          return {
            paymentOrderId: order.paymentOrderId,
            sellerId: order.sellerId,
            ...planSellerDebit(holdsMinor[index] ?? 0n, pendingHeldMinor),
            disputeFeeMinor: feeSharesMinor[index] ?? 0n,
          };
        });
        const base = { disputeId: 'dp', paymentId: payment.paymentId, currency: payment.currency, amountMinor: disputedMinor };
        const opened = posted(postDisputeOpened({ ...base, pspDisputeId: 'du', disputeFeeMinor, disputeFeeBorneBy: feeBorneBySeller ? 'seller' : 'platform', orders, openedAt: AT }));
        expectBalancedPerCurrency(opened);
        const splits = orders.map(({ paymentOrderId, sellerId, pendingMinor, availableMinor }) => ({ paymentOrderId, sellerId, pendingMinor, availableMinor }));
        const won = posted(postDisputeWon({ ...base, orders: splits, wonAt: AT }));
        expectBalancedPerCurrency(won);
        const lost = posted(postDisputeLost({ ...base, lossBorneBy: lossBorneBySeller ? 'seller' : 'platform', orders: lossBorneBySeller ? [] : splits, lostAt: AT }));
        expectBalancedPerCurrency(lost);
        // Opened then won: only the dispute fee remains on the books.
        const afterWin = applyTransaction(applyTransaction(new Map(), opened), won);
        const nonZero = [...afterWin.entries()].filter(([, balanceMinor]) => balanceMinor !== 0n);
        for (const [key] of nonZero) expect(key === `psp_receivable|${payment.currency}` || key === `psp_fee_expense|${payment.currency}` || key.startsWith('seller_available:')).toBe(true);
        expect(trialBalanceByCurrency(afterWin).get(payment.currency)).toBe(0n);
      }),
      { numRuns: 200 },
    );
  });

  it('FX payouts balance per currency and the request + failure nets to zero', () => {
    const pairArb = fc.tuple(currencyArb, currencyArb).filter(([from, to]) => from !== to);
    const fxArb = fc.record({
      pair: pairArb,
      amountMinor: fc.bigInt({ min: 1n, max: 10_000_000_000n }),
      numerator: fc.bigInt({ min: 1n, max: 100_000_000n }),
      denominator: fc.bigInt({ min: 1n, max: 100_000_000n }),
      skewMinor: fc.bigInt({ min: -1n, max: 1n }),
    });
    fc.assert(
      fc.property(fxArb, ({ pair: [from, to], amountMinor, numerator, denominator, skewMinor }) => {
        const rate = { numerator, denominator };
        const expectedMinor = convertMinor(amountMinor, from, to, rate);
        fc.pre(expectedMinor + skewMinor > 0n);
        expect(skewMinor <= fxDifferenceToleranceMinor(expectedMinor)).toBe(true);
        const payout = {
          payoutId: 'po', sellerId: 'A', currency: from, amountMinor,
          fx: { payoutCurrency: to, payoutAmountMinor: expectedMinor + skewMinor, rateNumerator: numerator, rateDenominator: denominator },
        };
        const requested = posted(postPayoutRequested({ ...payout, requestedAt: AT }));
        expectBalancedPerCurrency(requested);
        const failed = posted(postPayoutFailed({ ...payout, failedAt: AT }));
        const balances = applyTransaction(applyTransaction(new Map(), requested), failed);
        for (const balanceMinor of balances.values()) expect(balanceMinor).toBe(0n);
      }),
      { numRuns: 300 },
    );
  });

  it('reversing any payment posting brings every account back to zero', () => {
    fc.assert(
      fc.property(paymentArb, (payment) => {
        const original = posted(postPaymentSucceeded(payment));
        const reversal = posted(reverseTransaction(original, { effectiveAt: AT, reason: 'test' }));
        expectBalancedPerCurrency(reversal);
        const balances = applyTransaction(applyTransaction(new Map(), original), reversal);
        for (const balanceMinor of balances.values()) expect(balanceMinor).toBe(0n);
      }),
      { numRuns: 100 },
    );
  });
});
