import { applyWalletChange, applyWalletEvent, balancesAlong, emptyWallet, replayReservation, settleReservation, walletChangesFor, walletMatchesLedger } from './index.js';
import type { WalletBalance, WalletEvent } from './index.js';

const AT = new Date('2025-01-15T12:00:00.000Z');

function applyAll(wallet: WalletBalance, events: readonly WalletEvent[]): WalletBalance {
  return events.reduce((current, event) => {
    const result = applyWalletEvent(current, event);
    if (!result.ok) throw result.error;
    return result.wallet;
  }, wallet);
}

const payment: WalletEvent = {
  type: 'payment.succeeded',
  payload: {
    paymentId: 'pay_1', buyerId: 'b', currency: 'USD', amountMinor: 10000n, pspPaymentIntentId: 'pi', succeededAt: AT,
    orders: [
      { paymentOrderId: 'po_a', sellerId: 'A', amountMinor: 6000n, feeMinor: 174n, netAmountMinor: 5826n },
      { paymentOrderId: 'po_b', sellerId: 'B', amountMinor: 4000n, feeMinor: 116n, netAmountMinor: 3884n },
    ],
  },
};
const delivered: WalletEvent = {
  type: 'order.delivered',
  payload: { paymentOrderId: 'po_a', paymentId: 'pay_1', sellerId: 'A', currency: 'USD', netAmountMinor: 5826n, deliveredAt: AT },
};
const payout = { payoutId: 'out_1', sellerId: 'A', currency: 'USD', amountMinor: 5000n };

describe('wallet transitions', () => {
  it('follows the worked example: pending, delivery, reservation, payout', () => {
    let wallet = applyAll(emptyWallet('A', 'USD'), [payment]);
    expect(wallet).toEqual({ sellerId: 'A', currency: 'USD', pendingMinor: 5826n, availableMinor: 0n, reservedMinor: 0n });
    wallet = applyAll(wallet, [delivered, { type: 'payout.requested', payload: { ...payout, requestedAt: AT } }]);
    expect(wallet).toMatchObject({ pendingMinor: 0n, availableMinor: 826n, reservedMinor: 5000n });
    const paid = applyAll(wallet, [{ type: 'payout.paid', payload: { ...payout, pspPayoutId: 'x', paidAt: AT } }]);
    expect(paid).toMatchObject({ availableMinor: 826n, reservedMinor: 0n });
    const failed = applyAll(wallet, [{ type: 'payout.failed', payload: { ...payout, failedAt: AT } }]);
    expect(failed).toMatchObject({ availableMinor: 5826n, reservedMinor: 0n });
  });

  it('refuses a payout above the available balance with INSUFFICIENT_FUNDS', () => {
    const wallet = applyAll(emptyWallet('A', 'USD'), [payment]);
    const result = applyWalletEvent(wallet, { type: 'payout.requested', payload: { ...payout, amountMinor: 1n, requestedAt: AT } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('INSUFFICIENT_FUNDS');
  });

  it('refuses to settle a payout that was never reserved', () => {
    const result = applyWalletEvent(emptyWallet('A', 'USD'), { type: 'payout.paid', payload: { ...payout, pspPayoutId: 'x', paidAt: AT } });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.code).toBe('RESERVATION_NOT_HELD');
  });

  it('lets refunds and disputes after payout drive available negative', () => {
    const wallet = applyAll(emptyWallet('A', 'USD'), [
      payment,
      delivered,
      { type: 'payout.requested', payload: { ...payout, amountMinor: 5826n, requestedAt: AT } },
      { type: 'payout.paid', payload: { ...payout, amountMinor: 5826n, pspPayoutId: 'x', paidAt: AT } },
      {
        type: 'refund.succeeded',
        payload: {
          refundId: 're', paymentId: 'pay_1', paymentOrderId: 'po_a', sellerId: 'A', currency: 'USD', amountMinor: 6000n,
          feePolicy: 'platform_keeps_fee', feeRefundMinor: 0n, pendingMinor: 0n, availableMinor: 6000n, pspRefundId: 'r', refundedAt: AT,
        },
      },
    ]);
    expect(wallet).toMatchObject({ pendingMinor: 0n, availableMinor: -6000n, reservedMinor: 0n });
  });

  it('a refund reversed (failed at the PSP after it succeeded) gives the seller back exactly what the refund took', () => {
    const refund = { refundId: 're', paymentId: 'pay_1', paymentOrderId: 'po_a', sellerId: 'A', currency: 'USD', amountMinor: 1000n, feeRefundMinor: 29n, pendingMinor: 700n, availableMinor: 271n, pspRefundId: 'r' };
    const paid = applyAll(emptyWallet('A', 'USD'), [payment]);
    const refunded = applyAll(paid, [{ type: 'refund.succeeded', payload: { ...refund, feePolicy: 'platform_returns_fee_pro_rata', refundedAt: AT } }]);
    const reversed = applyAll(refunded, [{ type: 'refund.reversed', payload: { ...refund, failureReason: 'expired_or_canceled_card', reversedAt: AT } }]);
    expect(reversed).toMatchObject({ pendingMinor: paid.pendingMinor, availableMinor: paid.availableMinor, reservedMinor: 0n });
    // Split back to available (the order was released in between): the total is the same.
    const released = applyAll(refunded, [{ type: 'refund.reversed', payload: { ...refund, pendingMinor: 0n, availableMinor: 971n, failureReason: 'expired_or_canceled_card', reversedAt: AT } }]);
    expect(released).toMatchObject({ pendingMinor: paid.pendingMinor - 700n, availableMinor: paid.availableMinor + 700n });
  });

  it('disputes: hold, fee share, won and lost per policy', () => {
    const orders = [{ paymentOrderId: 'po_a', sellerId: 'A', pendingMinor: 5826n, availableMinor: 174n }];
    const base = { disputeId: 'd', paymentId: 'pay_1', currency: 'USD', amountMinor: 6000n };
    const opened = applyAll(applyAll(emptyWallet('A', 'USD'), [payment]), [
      { type: 'dispute.opened', payload: { ...base, pspDisputeId: 'du', disputeFeeMinor: 1500n, disputeFeeBorneBy: 'seller', orders: orders.map((o) => ({ ...o, disputeFeeMinor: 1500n })), openedAt: AT } },
    ]);
    expect(opened).toMatchObject({ pendingMinor: 0n, availableMinor: -1674n });
    expect(applyAll(opened, [{ type: 'dispute.won', payload: { ...base, orders, wonAt: AT } }])).toMatchObject({ pendingMinor: 5826n, availableMinor: -1500n });
    expect(applyAll(opened, [{ type: 'dispute.lost', payload: { ...base, lossBorneBy: 'seller', orders: [], lostAt: AT } }])).toEqual(opened);
    expect(applyAll(opened, [{ type: 'dispute.lost', payload: { ...base, lossBorneBy: 'platform', orders, lostAt: AT } }])).toMatchObject({ pendingMinor: 5826n, availableMinor: -1500n });
  });

  it('merges several orders of one seller into one change and skips untouched wallets', () => {
    const changes = walletChangesFor({
      type: 'payment.succeeded',
      payload: {
        paymentId: 'p', buyerId: 'b', currency: 'JPY', amountMinor: 300n, pspPaymentIntentId: 'pi', succeededAt: AT,
        orders: [
          { paymentOrderId: '1', sellerId: 'A', amountMinor: 100n, feeMinor: 3n, netAmountMinor: 97n },
          { paymentOrderId: '2', sellerId: 'A', amountMinor: 200n, feeMinor: 6n, netAmountMinor: 194n },
        ],
      },
    });
    expect(changes).toEqual([{ sellerId: 'A', currency: 'JPY', kind: 'payment_succeeded', delta: { pendingDeltaMinor: 291n, availableDeltaMinor: 0n, reservedDeltaMinor: 0n } }]);
    const untouched = applyWalletEvent(emptyWallet('C', 'USD'), payment);
    expect(untouched.ok && untouched.wallet).toEqual(emptyWallet('C', 'USD'));
    const wrong = applyWalletChange(emptyWallet('C', 'USD'), { sellerId: 'A', currency: 'USD', kind: 'payment_succeeded', delta: { pendingDeltaMinor: 1n, availableDeltaMinor: 0n, reservedDeltaMinor: 0n } });
    expect(!wrong.ok && wrong.error.code).toBe('WALLET_MISMATCH');
  });
});

describe('reservations', () => {
  const held = { id: 'out_1', sellerId: 'A', currency: 'USD', amountMinor: 5000n, status: 'held' as const };
  it('held → consumed | released, and nothing after', () => {
    const consumed = settleReservation(held, 'consumed', held);
    expect(consumed.ok && consumed.reservation.status).toBe('consumed');
    if (!consumed.ok) throw new Error('unreachable');
    const again = settleReservation(consumed.reservation, 'released', held);
    expect(!again.ok && again.code).toBe('RESERVATION_NOT_HELD');
    const mismatch = settleReservation(held, 'released', { ...held, amountMinor: 1n });
    expect(!mismatch.ok && mismatch.code).toBe('RESERVATION_MISMATCH');
  });
});

describe('replayReservation', () => {
  const stored = { id: 'out_1', sellerId: 'A', currency: 'USD', amountMinor: 5000n };
  const same = { sellerId: 'A', currency: 'USD', amountMinor: 5000n, amountMaxMinor: 10n ** 12n - 1n };
  const others = [
    { ...same, amountMinor: 4999n },
    { ...same, sellerId: 'B' },
    { ...same, currency: 'EUR' },
    { ...same, sellerId: 'B', amountMinor: null },
    { ...same, amountMinor: null, amountMaxMinor: 4999n },
  ];

  it('compares the terms in every status: other terms are RESERVATION_MISMATCH, held or settled', () => {
    for (const status of ['held', 'released', 'consumed'] as const) {
      for (const request of others) expect({ status, request, answer: replayReservation({ ...stored, status }, request) }).toEqual({ status, request, answer: { ok: false, code: 'RESERVATION_MISMATCH' } });
    }
  });

  it('replays only a hold that is still there, for its exact amount or a whole-balance request it fits', () => {
    for (const request of [same, { ...same, amountMinor: null }, { ...same, amountMinor: null, amountMaxMinor: 5000n }]) {
      expect(replayReservation({ ...stored, status: 'held' }, request)).toEqual({ ok: true, amountMinor: 5000n });
      expect(replayReservation({ ...stored, status: 'released' }, request)).toEqual({ ok: false, code: 'RESERVATION_RELEASED' });
      expect(replayReservation({ ...stored, status: 'consumed' }, request)).toEqual({ ok: false, code: 'RESERVATION_RELEASED' });
    }
  });

  it('a release marker held nothing: RESERVATION_RELEASED whatever the request', () => {
    for (const request of [same, ...others]) expect(replayReservation({ id: 'out_1', status: 'released', marker: true }, request)).toEqual({ ok: false, code: 'RESERVATION_RELEASED' });
  });
});

describe('walletMatchesLedger', () => {
  it('reports every differing field', () => {
    const wallet = { ...emptyWallet('A', 'USD'), pendingMinor: 5n, reservedMinor: 2n };
    expect(walletMatchesLedger(wallet, { sellerPendingMinor: 5n, sellerAvailableMinor: 0n, sellerPayoutsInTransitMinor: 2n })).toEqual({ ok: true });
    expect(walletMatchesLedger(wallet, { sellerPendingMinor: 4n, sellerAvailableMinor: 0n, sellerPayoutsInTransitMinor: 3n })).toEqual({
      ok: false,
      mismatches: [
        { field: 'pendingMinor', walletMinor: 5n, ledgerMinor: 4n },
        { field: 'reservedMinor', walletMinor: 2n, ledgerMinor: 3n },
      ],
    });
  });
});

describe('balancesAlong', () => {
  it('replays the deltas that led to a final balance, one balance per delta, the last being the final one', () => {
    const final = { ...emptyWallet('A', 'USD'), pendingMinor: 2n, availableMinor: -1_000n, reservedMinor: 0n };
    const deltas = [
      { pendingDeltaMinor: 500n, availableDeltaMinor: 0n, reservedDeltaMinor: 0n },
      { pendingDeltaMinor: -500n, availableDeltaMinor: 500n, reservedDeltaMinor: 0n },
      { pendingDeltaMinor: 0n, availableDeltaMinor: 0n, reservedDeltaMinor: -3_000n },
      { pendingDeltaMinor: 2n, availableDeltaMinor: -9_000n, reservedDeltaMinor: 0n },
    ];
    expect(balancesAlong(final, deltas).map(({ pendingMinor, availableMinor, reservedMinor }) => [pendingMinor, availableMinor, reservedMinor])).toEqual([
      [500n, 7_500n, 3_000n],
      [0n, 8_000n, 3_000n],
      [0n, 8_000n, 0n],
      [2n, -1_000n, 0n],
    ]);
    expect(balancesAlong(final, [])).toEqual([]);
  });
});
