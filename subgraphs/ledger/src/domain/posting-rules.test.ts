import { computeFee, formatAmount, planRefund } from '@clearhouse/shared';
import { AT, disputeOpened, payoutRequested, paymentSucceeded, refundReversed, refundSucceeded } from './builders.test-support.js';
import {
  LedgerRuleError,
  applyTransaction,
  balanceOf,
  convertMinor,
  describeAccount,
  postDisputeLost,
  postDisputeOpened,
  postDisputeWon,
  postOrderDelivered,
  postPaymentSucceeded,
  postPayoutFailed,
  postPayoutPaid,
  postPayoutRequested,
  postPspFeeBooked,
  postRefundReversed,
  postRefundSucceeded,
  reverseTransaction,
  sellerAvailable,
  sellerPending,
  trialBalanceByCurrency,
  validateTransaction,
} from './index.js';
import type { JournalTransactionDraft, LedgerRuleErrorCode, PostingResult } from './index.js';

function posted(result: PostingResult): JournalTransactionDraft {
  if (result.kind !== 'post') throw new Error(`expected a posting, got ${JSON.stringify(result.kind === 'rejected' ? result.error.message : result)}`);
  return result.transaction;
}

function rejectedWith(result: PostingResult): LedgerRuleErrorCode {
  if (result.kind !== 'rejected') throw new Error(`expected a rejection, got ${result.kind}`);
  expect(result.error).toBeInstanceOf(LedgerRuleError);
  return result.error.code;
}

/** "DEBIT psp_receivable 100.00 USD" lines, for readable expectations. */
function lines(transaction: JournalTransactionDraft): string[] {
  return transaction.entries.map((entry) => `${entry.direction} ${entry.accountCode} ${formatAmount(entry.amountMinor, entry.currency)} ${entry.currency}`);
}

describe('chart of accounts', () => {
  it('knows types and normal balances, and rejects unknown codes', () => {
    expect(describeAccount('psp_receivable')).toEqual({ code: 'psp_receivable', type: 'ASSET', normalBalance: 'DEBIT' });
    expect(describeAccount('seller_pending:A')).toEqual({ code: 'seller_pending:A', type: 'LIABILITY', normalBalance: 'CREDIT' });
    expect(describeAccount('platform_fee_revenue')?.type).toBe('REVENUE');
    expect(describeAccount('psp_fee_expense')?.normalBalance).toBe('DEBIT');
    expect(describeAccount('seller_pending:')).toBeUndefined();
    expect(describeAccount('seller_bonus:A')).toBeUndefined();
    expect(describeAccount('cash')).toBeUndefined();
  });

  it('refuses seller ids that could forge another code', () => {
    expect(() => sellerPending('A:B')).toThrow(LedgerRuleError);
    expect(() => sellerAvailable('')).toThrow(LedgerRuleError);
  });
});

describe('payment succeeded', () => {
  it('books the ARCHITECTURE worked example: $100 = A 58.26 + B 38.84 + fee 2.90', () => {
    const transaction = posted(postPaymentSucceeded(paymentSucceeded([{ sellerId: 'A', amountMinor: 6000n }, { sellerId: 'B', amountMinor: 4000n }])));
    expect(lines(transaction)).toEqual([
      'DEBIT psp_receivable 100.00 USD',
      'CREDIT seller_pending:A 58.26 USD',
      'CREDIT seller_pending:B 38.84 USD',
      'CREDIT platform_fee_revenue 2.90 USD',
    ]);
    expect(transaction.reference).toBe('payment_succeeded:pay_1');
    expect(transaction.correlationId).toBe('pay_1');
  });

  it('rejects orders that do not add up to the payment', () => {
    const payment = paymentSucceeded([{ sellerId: 'A', amountMinor: 6000n }]);
    expect(rejectedWith(postPaymentSucceeded({ ...payment, amountMinor: 6001n }))).toBe('SPLIT_MISMATCH');
  });

  it('rejects an order whose fee + net is not its amount', () => {
    const payment = paymentSucceeded([{ sellerId: 'A', amountMinor: 6000n }]);
    const [order] = payment.orders;
    if (order === undefined) throw new Error('fixture');
    expect(rejectedWith(postPaymentSucceeded({ ...payment, orders: [{ ...order, feeMinor: 175n }] }))).toBe('SPLIT_MISMATCH');
  });

  it('rejects unsupported currencies and bad seller ids', () => {
    expect(rejectedWith(postPaymentSucceeded(paymentSucceeded([{ sellerId: 'A', amountMinor: 100n }], { currency: 'XXX' })))).toBe('UNSUPPORTED_CURRENCY');
    expect(rejectedWith(postPaymentSucceeded(paymentSucceeded([{ sellerId: 'a b', amountMinor: 100n }])))).toBe('INVALID_SELLER_ID');
  });
});

describe('order delivered and payouts', () => {
  it('moves pending to available, pays out through payouts_in_transit, and the books balance', () => {
    let balances = applyTransaction(new Map(), posted(postPaymentSucceeded(paymentSucceeded([{ sellerId: 'A', amountMinor: 6000n }, { sellerId: 'B', amountMinor: 4000n }]))));
    const delivered = posted(postOrderDelivered({ paymentOrderId: 'pay_1_po_0', paymentId: 'pay_1', sellerId: 'A', currency: 'USD', netAmountMinor: 5826n, deliveredAt: AT }));
    expect(lines(delivered)).toEqual(['DEBIT seller_pending:A 58.26 USD', 'CREDIT seller_available:A 58.26 USD']);
    balances = applyTransaction(balances, delivered);
    const requested = posted(postPayoutRequested(payoutRequested({ amountMinor: 5826n })));
    expect(lines(requested)).toEqual(['DEBIT seller_available:A 58.26 USD', 'CREDIT payouts_in_transit 58.26 USD']);
    balances = applyTransaction(balances, requested);
    const paid = posted(postPayoutPaid({ ...payoutRequested({ amountMinor: 5826n }), pspPayoutId: 'po_psp_1', paidAt: AT }));
    expect(lines(paid)).toEqual(['DEBIT payouts_in_transit 58.26 USD', 'CREDIT psp_receivable 58.26 USD']);
    balances = applyTransaction(balances, paid);
    expect(balanceOf(balances, 'psp_receivable', 'USD')).toBe(10000n - 5826n);
    expect(balanceOf(balances, sellerAvailable('A'), 'USD')).toBe(0n);
    expect(balanceOf(balances, sellerPending('B'), 'USD')).toBe(3884n);
    expect(balanceOf(balances, 'payouts_in_transit', 'USD')).toBe(0n);
    expect(trialBalanceByCurrency(balances).get('USD')).toBe(0n);
  });

  it('posts nothing when a delivered order holds nothing in pending', () => {
    const result = postOrderDelivered({ paymentOrderId: 'po', paymentId: 'pay_1', sellerId: 'A', currency: 'USD', netAmountMinor: 0n, deliveredAt: AT });
    expect(result.kind).toBe('nothing_to_post');
  });

  it('a failed payout is the mirror of its request, linked to it', () => {
    const requested = posted(postPayoutRequested(payoutRequested()));
    const failed = posted(postPayoutFailed({ ...payoutRequested(), failureCode: 'account_closed', failedAt: AT }));
    expect(failed.reversesReference).toBe(requested.reference);
    expect(lines(failed)).toEqual(['CREDIT seller_available:A 50.00 USD', 'DEBIT payouts_in_transit 50.00 USD']);
  });

  it('rejects a non-positive payout', () => {
    expect(rejectedWith(postPayoutRequested(payoutRequested({ amountMinor: 0n })))).toBe('NON_POSITIVE_AMOUNT');
  });
});

describe('FX payouts', () => {
  const fx = { payoutCurrency: 'EUR', payoutAmountMinor: 4562n, rateNumerator: 9123n, rateDenominator: 10000n };

  it('converts half-up with exact rational rates across exponents', () => {
    expect(convertMinor(5000n, 'USD', 'EUR', { numerator: 9123n, denominator: 10000n })).toBe(4562n); // 45.615 → 45.62
    expect(convertMinor(100n, 'USD', 'JPY', { numerator: 15025n, denominator: 100n })).toBe(150n); // 1.00 USD → 150.25 → 150
    expect(convertMinor(1000n, 'KWD', 'USD', { numerator: 325n, denominator: 100n })).toBe(325n); // 1.000 KWD → 3.25 USD
  });

  it('books each currency through fx_clearing, balanced per currency', () => {
    const transaction = posted(postPayoutRequested(payoutRequested({ fx })));
    expect(lines(transaction)).toEqual([
      'DEBIT seller_available:A 50.00 USD',
      'CREDIT fx_clearing 50.00 USD',
      'DEBIT fx_clearing 45.62 EUR',
      'CREDIT payouts_in_transit 45.62 EUR',
    ]);
    expect(transaction.metadata['fxRateNumerator']).toBe('9123');
  });

  it('posts the difference between the converted and the sent amount to fx_gain_loss', () => {
    const transaction = posted(postPayoutRequested(payoutRequested({ fx: { ...fx, payoutAmountMinor: 4560n } })));
    expect(lines(transaction)).toContain('CREDIT fx_gain_loss 0.02 EUR');
    expect(transaction.metadata['fxDifferenceMinor']).toBe('2');
    const failed = posted(postPayoutFailed({ ...payoutRequested({ fx: { ...fx, payoutAmountMinor: 4560n } }), failedAt: AT }));
    expect(lines(failed)).toContain('DEBIT fx_gain_loss 0.02 EUR');
  });

  it('rejects bad rates, same-currency FX and differences beyond the tolerance', () => {
    expect(rejectedWith(postPayoutRequested(payoutRequested({ fx: { ...fx, rateNumerator: 0n } })))).toBe('INVALID_FX_RATE');
    expect(rejectedWith(postPayoutRequested(payoutRequested({ fx: { ...fx, payoutCurrency: 'USD' } })))).toBe('CURRENCY_MISMATCH');
    expect(rejectedWith(postPayoutRequested(payoutRequested({ fx: { ...fx, payoutAmountMinor: 4000n } })))).toBe('FX_DIFFERENCE_TOO_LARGE');
  });
});

describe('refunds', () => {
  const order = { amountMinor: 6000n, feeMinor: computeFee(6000n, { percentBps: 290n, fixedMinor: 0n }) };

  it('platform keeps its fee: the seller gives back the whole refund', () => {
    const plan = planRefund('platform_keeps_fee', { ...order, refundedBeforeMinor: 0n, pendingHeldMinor: 5826n }, 6000n);
    expect(plan).toEqual({ feeRefundMinor: 0n, pendingMinor: 5826n, availableMinor: 174n });
    const transaction = posted(postRefundSucceeded(refundSucceeded({ amountMinor: 6000n, ...plan })));
    expect(lines(transaction)).toEqual([
      'DEBIT seller_pending:A 58.26 USD',
      'DEBIT seller_available:A 1.74 USD',
      'CREDIT psp_receivable 60.00 USD',
    ]);
  });

  it('pro rata: partial refunds return a rounded-down share, and the last one completes the fee exactly', () => {
    const first = planRefund('platform_returns_fee_pro_rata', { ...order, refundedBeforeMinor: 0n, pendingHeldMinor: 0n }, 3333n);
    expect(first.feeRefundMinor).toBe(96n); // floor(174 * 3333 / 6000) = 96.657 → 96
    const second = planRefund('platform_returns_fee_pro_rata', { ...order, refundedBeforeMinor: 3333n, pendingHeldMinor: 0n }, 2667n);
    expect(first.feeRefundMinor + second.feeRefundMinor).toBe(174n);
    const transaction = posted(postRefundSucceeded(refundSucceeded({ amountMinor: 3333n, feePolicy: 'platform_returns_fee_pro_rata', ...first })));
    expect(lines(transaction)).toEqual([
      'DEBIT seller_available:A 32.37 USD',
      'DEBIT platform_fee_revenue 0.96 USD',
      'CREDIT psp_receivable 33.33 USD',
    ]);
  });

  it('rejects a refund whose parts do not add up, or a fee return under platform_keeps_fee', () => {
    expect(rejectedWith(postRefundSucceeded(refundSucceeded({ pendingMinor: 999n })))).toBe('SPLIT_MISMATCH');
    expect(rejectedWith(postRefundSucceeded(refundSucceeded({ pendingMinor: 990n, feeRefundMinor: 10n })))).toBe('SPLIT_MISMATCH');
  });
});

describe('refund reversed (a succeeded refund failed at the PSP)', () => {
  const split = { amountMinor: 1000n, feePolicy: 'platform_returns_fee_pro_rata' as const, feeRefundMinor: 29n, pendingMinor: 700n, availableMinor: 271n };

  it('is the mirror of the refund posting, linked to it', () => {
    const refund = posted(postRefundSucceeded(refundSucceeded(split)));
    const reversal = posted(postRefundReversed(refundReversed(split)));
    expect(reversal).toMatchObject({ reference: 'refund_reversed:re_1', kind: 'refund_reversed', reversesReference: refund.reference, correlationId: 'pay_1' });
    expect(reversal.metadata).toMatchObject({ refundId: 're_1', pspRefundId: 'pyr_1', failureReason: 'expired_or_canceled_card' });
    expect(lines(reversal)).toEqual(['DEBIT psp_receivable 10.00 USD', 'CREDIT seller_pending:A 7.00 USD', 'CREDIT seller_available:A 2.71 USD', 'CREDIT platform_fee_revenue 0.29 USD']);
    expect(validateTransaction(reversal).ok).toBe(true);
    // Refund and reversal together leave every account as it was.
    const balances = applyTransaction(applyTransaction(new Map(), refund), reversal);
    for (const balance of balances.values()) expect(balance).toBe(0n);
  });

  it('after the order was released the seller part goes back to available', () => {
    const reversal = posted(postRefundReversed(refundReversed(split, { pendingMinor: 0n, availableMinor: 971n })));
    expect(lines(reversal)).toEqual(['DEBIT psp_receivable 10.00 USD', 'CREDIT seller_available:A 9.71 USD', 'CREDIT platform_fee_revenue 0.29 USD']);
  });

  it('rejects parts that do not add up', () => {
    expect(rejectedWith(postRefundReversed(refundReversed(split, { pendingMinor: 699n })))).toBe('SPLIT_MISMATCH');
  });
});

describe('disputes', () => {
  it('opened: the seller share moves into disputes_clearing and the platform pays the dispute fee', () => {
    expect(lines(posted(postDisputeOpened(disputeOpened())))).toEqual([
      'DEBIT seller_pending:A 58.26 USD',
      'DEBIT seller_available:A 1.74 USD',
      'CREDIT disputes_clearing 60.00 USD',
      'DEBIT psp_fee_expense 15.00 USD',
      'CREDIT psp_receivable 15.00 USD',
    ]);
  });

  it('opened with the seller bearing the fee', () => {
    const dispute = disputeOpened({
      disputeFeeBorneBy: 'seller',
      orders: [{ paymentOrderId: 'pay_1_po_0', sellerId: 'A', pendingMinor: 6000n, availableMinor: 0n, disputeFeeMinor: 1500n }],
    });
    expect(lines(posted(postDisputeOpened(dispute)))).toEqual([
      'DEBIT seller_pending:A 60.00 USD',
      'CREDIT disputes_clearing 60.00 USD',
      'DEBIT seller_available:A 15.00 USD',
      'CREDIT psp_receivable 15.00 USD',
    ]);
  });

  it('won returns the funds; lost books the loss on the seller or on the platform', () => {
    const orders = [{ paymentOrderId: 'pay_1_po_0', sellerId: 'A', pendingMinor: 0n, availableMinor: 6000n }];
    expect(lines(posted(postDisputeWon({ disputeId: 'dp_1', paymentId: 'pay_1', currency: 'USD', amountMinor: 6000n, orders, wonAt: AT })))).toEqual([
      'DEBIT disputes_clearing 60.00 USD',
      'CREDIT seller_available:A 60.00 USD',
    ]);
    const lost = { disputeId: 'dp_1', paymentId: 'pay_1', currency: 'USD', amountMinor: 6000n, lostAt: AT };
    expect(lines(posted(postDisputeLost({ ...lost, lossBorneBy: 'seller', orders: [] })))).toEqual([
      'DEBIT disputes_clearing 60.00 USD',
      'CREDIT psp_receivable 60.00 USD',
    ]);
    expect(lines(posted(postDisputeLost({ ...lost, lossBorneBy: 'platform', orders })))).toEqual([
      'DEBIT disputes_clearing 60.00 USD',
      'CREDIT seller_available:A 60.00 USD',
      'DEBIT chargeback_loss_expense 60.00 USD',
      'CREDIT psp_receivable 60.00 USD',
    ]);
  });

  it('rejects splits that do not add up and a seller fee share when the platform bears it', () => {
    expect(rejectedWith(postDisputeOpened(disputeOpened({ amountMinor: 6001n })))).toBe('SPLIT_MISMATCH');
    const dispute = disputeOpened();
    const [order] = dispute.orders;
    if (order === undefined) throw new Error('fixture');
    expect(rejectedWith(postDisputeOpened({ ...dispute, orders: [{ ...order, disputeFeeMinor: 1n }] }))).toBe('SPLIT_MISMATCH');
    expect(rejectedWith(postDisputeLost({ disputeId: 'd', paymentId: 'p', currency: 'USD', amountMinor: 1n, lossBorneBy: 'seller', lostAt: AT, orders: [{ paymentOrderId: 'x', sellerId: 'A', pendingMinor: 1n, availableMinor: 0n }] }))).toBe('SPLIT_MISMATCH');
  });
});

describe('PSP fees and reversals', () => {
  it('books a PSP fee from a balance transaction', () => {
    const transaction = posted(postPspFeeBooked({ balanceTransactionId: 'txn_1', currency: 'USD', feeMinor: 320n, sourceId: 'ch_1', bookedAt: AT }));
    expect(transaction.reference).toBe('psp_fee_booked:txn_1');
    expect(lines(transaction)).toEqual(['DEBIT psp_fee_expense 3.20 USD', 'CREDIT psp_receivable 3.20 USD']);
  });

  it('reverses any transaction: mirrored entries, linked reference, balances back to zero', () => {
    const original = posted(postPaymentSucceeded(paymentSucceeded([{ sellerId: 'A', amountMinor: 6000n }])));
    const reversal = posted(reverseTransaction(original, { effectiveAt: AT, reason: 'duplicate checkout' }));
    expect(reversal.reference).toBe('reversal:payment_succeeded:pay_1');
    expect(reversal.reversesReference).toBe(original.reference);
    const balances = applyTransaction(applyTransaction(new Map(), original), reversal);
    for (const balanceMinor of balances.values()) expect(balanceMinor).toBe(0n);
  });

  it('refuses to reverse an invalid transaction', () => {
    const invalid: JournalTransactionDraft = { reference: 'x', kind: 'reversal', effectiveAt: AT, metadata: {}, entries: [] };
    expect(rejectedWith(reverseTransaction(invalid, { effectiveAt: AT, reason: 'r' }))).toBe('TOO_FEW_ENTRIES');
  });
});

describe('validateTransaction', () => {
  const base: JournalTransactionDraft = {
    reference: 'manual:1',
    kind: 'reversal',
    effectiveAt: AT,
    metadata: {},
    entries: [
      { accountCode: 'psp_receivable', currency: 'USD', direction: 'DEBIT', amountMinor: 100n },
      { accountCode: 'platform_fee_revenue', currency: 'USD', direction: 'CREDIT', amountMinor: 100n },
    ],
  };
  const codeOf = (draft: JournalTransactionDraft): string | undefined => {
    const result = validateTransaction(draft);
    return result.ok ? undefined : result.error.code;
  };
  const [debit, credit] = base.entries;
  if (debit === undefined || credit === undefined) throw new Error('fixture');

  it('accepts a balanced transaction', () => expect(codeOf(base)).toBeUndefined());
  it('needs two entries', () => expect(codeOf({ ...base, entries: [debit] })).toBe('TOO_FEW_ENTRIES'));
  it('needs positive amounts', () => {
    expect(codeOf({ ...base, entries: [{ ...debit, amountMinor: 0n }, { ...credit, amountMinor: 0n }] })).toBe('NON_POSITIVE_AMOUNT');
    expect(codeOf({ ...base, entries: [{ ...debit, amountMinor: -5n }, { ...credit, direction: 'DEBIT', amountMinor: 5n }] })).toBe('NON_POSITIVE_AMOUNT');
  });
  it('needs debits = credits per currency', () => {
    expect(codeOf({ ...base, entries: [debit, { ...credit, amountMinor: 99n }] })).toBe('UNBALANCED');
    // Balanced in total but not per currency: 100 USD against 100 EUR.
    expect(codeOf({ ...base, entries: [debit, { ...credit, currency: 'EUR' }] })).toBe('UNBALANCED');
  });
  it('needs known accounts and currencies', () => {
    expect(codeOf({ ...base, entries: [{ ...debit, accountCode: 'cash' as never }, credit] })).toBe('UNKNOWN_ACCOUNT');
    expect(codeOf({ ...base, entries: [{ ...debit, currency: 'ABC' }, { ...credit, currency: 'ABC' }] })).toBe('UNSUPPORTED_CURRENCY');
  });
  it('needs a reference and a valid date', () => {
    expect(codeOf({ ...base, reference: '' })).toBe('INVALID_REFERENCE');
    expect(codeOf({ ...base, effectiveAt: new Date('nope') })).toBe('INVALID_EFFECTIVE_AT');
  });
});
