// The wallet consumers and reservation API against real PostgreSQL and RabbitMQ. The tests
// publish the events themselves (the producing flows live in other subgraphs).
import type { PaymentSucceededV1 } from '@clearhouse/shared';
import { WalletRuleError } from '../domain/index.js';
import { reserve } from '../application/reservations.js';
import { findWallet } from '../persistence/wallet-store.js';
import type { TransactionalDb } from '@clearhouse/shared';
import { eventOf, startConsumerHarness, waitFor, type ConsumerHarness } from './consumers.test-support.js';
import { walletConsumers } from './index.js';

jest.setTimeout(60_000);

const AT = new Date('2025-03-01T10:00:00.000Z');
let h: ConsumerHarness;

beforeAll(async () => {
  h = await startConsumerHarness([...walletConsumers]);
});

afterAll(async () => {
  await h.close();
});

async function countRows(sql: string, ...values: unknown[]): Promise<number> {
  const rows = await h.prisma.$queryRawUnsafe<{ n: bigint }[]>(sql, ...values);
  return Number(rows[0]?.n ?? 0);
}

async function inboxed(consumer: string, messageId: string): Promise<true | undefined> {
  return (await countRows(`SELECT count(*) AS n FROM inbox_messages WHERE consumer = $1 AND message_id = $2`, consumer, messageId)) === 1 ? true : undefined;
}

function payment(paymentId: string, orders: { sellerId: string; amountMinor: bigint; feeMinor: bigint }[]): PaymentSucceededV1 {
  return {
    paymentId,
    buyerId: 'buyer_w',
    currency: 'USD',
    amountMinor: orders.reduce((sum, order) => sum + order.amountMinor, 0n),
    pspPaymentIntentId: `pi_${paymentId}`,
    succeededAt: AT,
    orders: orders.map((order, index) => ({ paymentOrderId: `${paymentId}_po_${index}`, sellerId: order.sellerId, amountMinor: order.amountMinor, feeMinor: order.feeMinor, netAmountMinor: order.amountMinor - order.feeMinor })),
  };
}

async function deliverTwice(consumer: string, event: ReturnType<typeof eventOf>): Promise<void> {
  await h.publish(event);
  await h.publish(event);
  await waitFor(() => inboxed(consumer, event.messageId), `${event.type} consumed`);
}

describe('wallet consumers', () => {
  it('projects payment.succeeded and order.delivered exactly once when delivered twice', async () => {
    const paid = payment('pay_w1', [{ sellerId: 'w_a', amountMinor: 6_000n, feeMinor: 174n }, { sellerId: 'w_b', amountMinor: 4_000n, feeMinor: 116n }]);
    await deliverTwice('wallet.payment-succeeded', eventOf('payment.succeeded@1', 'pay_w1', paid));
    // The same cause published again under a new message id moves nothing either.
    await deliverTwice('wallet.payment-succeeded', eventOf('payment.succeeded@1', 'pay_w1', paid));
    await deliverTwice(
      'wallet.order-delivered',
      eventOf('order.delivered@1', 'pay_w1', { paymentOrderId: 'pay_w1_po_0', paymentId: 'pay_w1', sellerId: 'w_a', currency: 'USD', netAmountMinor: 5_826n, deliveredAt: AT }),
    );
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await findWallet(h.prisma, 'w_a', 'USD')).toMatchObject({ pendingMinor: 0n, availableMinor: 5_826n, reservedMinor: 0n, version: 2 });
    expect(await findWallet(h.prisma, 'w_b', 'USD')).toMatchObject({ pendingMinor: 3_884n, availableMinor: 0n, reservedMinor: 0n, version: 1 });
    expect(await countRows(`SELECT count(*) AS n FROM wallet_movements WHERE correlation_id = 'pay_w1'`)).toBe(3);
    expect(await countRows(`SELECT count(*) AS n FROM outbox_messages WHERE routing_key = 'wallet.balance_changed'`)).toBe(3);
    // One timeline event per cause: the payment's two sellers in one, the delivery in another.
    expect(await countRows(`SELECT count(*) AS n FROM outbox_messages WHERE routing_key = 'timeline.recorded' AND correlation_id = 'pay_w1'`)).toBe(2);
    expect(await countRows(`SELECT count(*) AS n FROM outbox_messages, jsonb_array_elements(payload->'entries') WHERE routing_key = 'timeline.recorded' AND correlation_id = 'pay_w1' AND schema_version = 2`)).toBe(3);
  });

  it('refund.reversed undoes refund.succeeded on the seller balance, once', async () => {
    const paid = payment('pay_w3', [{ sellerId: 'w_r', amountMinor: 6_000n, feeMinor: 174n }]);
    await deliverTwice('wallet.payment-succeeded', eventOf('payment.succeeded@1', 'pay_w3', paid));
    const refund = { refundId: 're_w3', paymentId: 'pay_w3', paymentOrderId: 'pay_w3_po_0', sellerId: 'w_r', currency: 'USD', amountMinor: 2_000n, feeRefundMinor: 58n, pendingMinor: 1_942n, availableMinor: 0n, pspRefundId: 'pyr_w3' };
    await deliverTwice('wallet.refund-succeeded', eventOf('refund.succeeded@1', 'pay_w3', { ...refund, feePolicy: 'platform_returns_fee_pro_rata', refundedAt: AT }));
    expect(await findWallet(h.prisma, 'w_r', 'USD')).toMatchObject({ pendingMinor: 5_826n - 1_942n, availableMinor: 0n });
    const reversed = eventOf('refund.reversed@1', 'pay_w3', { ...refund, failureReason: 'expired_or_canceled_card', reversedAt: AT });
    await deliverTwice('wallet.refund-reversed', reversed);
    // The same cause under a new message id moves nothing either.
    await deliverTwice('wallet.refund-reversed', eventOf('refund.reversed@1', 'pay_w3', { ...refund, failureReason: 'expired_or_canceled_card', reversedAt: AT }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await findWallet(h.prisma, 'w_r', 'USD')).toMatchObject({ pendingMinor: 5_826n, availableMinor: 0n, reservedMinor: 0n, version: 3 });
    expect(await countRows(`SELECT count(*) AS n FROM wallet_movements WHERE correlation_id = 'pay_w3' AND kind = 'refund_reversed'`)).toBe(1);
  });

  it('reserves on payout.requested, consumes on payout.paid, releases on payout.failed', async () => {
    const paid = payment('pay_w2', [{ sellerId: 'w_c', amountMinor: 10_000n, feeMinor: 0n }]);
    await deliverTwice('wallet.payment-succeeded', eventOf('payment.succeeded@1', 'pay_w2', paid));
    await deliverTwice(
      'wallet.order-delivered',
      eventOf('order.delivered@1', 'pay_w2', { paymentOrderId: 'pay_w2_po_0', paymentId: 'pay_w2', sellerId: 'w_c', currency: 'USD', netAmountMinor: 10_000n, deliveredAt: AT }),
    );
    const payoutBase = { sellerId: 'w_c', currency: 'USD', amountMinor: 4_000n };
    await deliverTwice('wallet.payout-requested', eventOf('payout.requested@1', 'po_w1', { payoutId: 'po_w1', ...payoutBase, requestedAt: AT }));
    expect(await findWallet(h.prisma, 'w_c', 'USD')).toMatchObject({ availableMinor: 6_000n, reservedMinor: 4_000n });
    await deliverTwice('wallet.payout-paid', eventOf('payout.paid@1', 'po_w1', { payoutId: 'po_w1', ...payoutBase, pspPayoutId: 'tr_1', paidAt: AT }));
    expect(await findWallet(h.prisma, 'w_c', 'USD')).toMatchObject({ availableMinor: 6_000n, reservedMinor: 0n });
    await deliverTwice('wallet.payout-requested', eventOf('payout.requested@1', 'po_w2', { payoutId: 'po_w2', ...payoutBase, requestedAt: AT }));
    await deliverTwice('wallet.payout-failed', eventOf('payout.failed@1', 'po_w2', { payoutId: 'po_w2', ...payoutBase, failureCode: 'account_closed', failedAt: AT }));
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await findWallet(h.prisma, 'w_c', 'USD')).toMatchObject({ pendingMinor: 0n, availableMinor: 6_000n, reservedMinor: 0n });
    const statuses = await h.prisma.$queryRawUnsafe<{ id: string; status: string }[]>(`SELECT id, status FROM wallet_reservations ORDER BY id`);
    expect(statuses).toEqual([
      { id: 'po_w1', status: 'consumed' },
      { id: 'po_w2', status: 'released' },
    ]);
  });
});

describe('reserve under concurrency', () => {
  it('25 concurrent reservations never take available below zero', async () => {
    const paid = payment('pay_w3', [{ sellerId: 'w_conc', amountMinor: 10_000n, feeMinor: 0n }]);
    await deliverTwice('wallet.payment-succeeded', eventOf('payment.succeeded@1', 'pay_w3', paid));
    await deliverTwice(
      'wallet.order-delivered',
      eventOf('order.delivered@1', 'pay_w3', { paymentOrderId: 'pay_w3_po_0', paymentId: 'pay_w3', sellerId: 'w_conc', currency: 'USD', netAmountMinor: 10_000n, deliveredAt: AT }),
    );
    const db = h.prisma as unknown as TransactionalDb;
    const results = await Promise.allSettled(
      Array.from({ length: 25 }, (_, index) => reserve(db, { payoutId: `po_conc_${index}`, sellerId: 'w_conc', currency: 'USD', amountMinor: 1_000n, at: AT })),
    );
    const succeeded = results.filter((result) => result.status === 'fulfilled');
    const refused = results.filter((result): result is PromiseRejectedResult => result.status === 'rejected');
    expect(succeeded).toHaveLength(10);
    expect(refused).toHaveLength(15);
    for (const failure of refused) {
      expect(failure.reason).toBeInstanceOf(WalletRuleError);
      expect((failure.reason as WalletRuleError).code).toBe('INSUFFICIENT_FUNDS');
    }
    expect(await findWallet(h.prisma, 'w_conc', 'USD')).toMatchObject({ availableMinor: 0n, reservedMinor: 10_000n });
    expect(await countRows(`SELECT count(*) AS n FROM wallet_reservations WHERE seller_id = 'w_conc'`)).toBe(10);
    // Idempotent per payout id.
    await expect(reserve(db, { payoutId: 'po_conc_0', sellerId: 'w_conc', currency: 'USD', amountMinor: 1_000n, at: AT }).catch((error: unknown) => error)).resolves.toBeDefined();
  });
});
