// The ledger consumers against real PostgreSQL and RabbitMQ: the tests publish the events
// themselves (the producing flows live in other subgraphs). Each event posts exactly once, even
// when the same message is delivered twice; rule violations are parked in the DLQ.
import { deadLetterQueueName, consumerQueueName, listDeadLetters } from '@clearhouse/shared';
import { AT, paymentSucceeded, refundReversed, refundSucceeded } from '../domain/builders.test-support.js';
import { findAccount } from '../persistence/ledger-queries.js';
import { eventOf, startConsumerHarness, waitFor, type ConsumerHarness } from './consumers.test-support.js';
import { ledgerConsumers } from './index.js';

jest.setTimeout(60_000);

let h: ConsumerHarness;

beforeAll(async () => {
  h = await startConsumerHarness(ledgerConsumers({ hotAccountShards: 4 }));
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

describe('ledger consumers', () => {
  it('payment.succeeded and order.delivered post exactly once when delivered twice, and record the timeline', async () => {
    const payment = paymentSucceeded([{ sellerId: 'cons_a', amountMinor: 6_000n }, { sellerId: 'cons_b', amountMinor: 4_000n }], { paymentId: 'pay_cons_1' });
    const succeeded = eventOf('payment.succeeded@1', payment.paymentId, payment);
    await h.publish(succeeded);
    await h.publish(succeeded);
    await waitFor(() => inboxed('ledger.payment-succeeded', succeeded.messageId), 'payment.succeeded consumed');
    const order = payment.orders[0];
    if (order === undefined) throw new Error('no order');
    const delivered = eventOf('order.delivered@1', payment.paymentId, {
      paymentOrderId: order.paymentOrderId,
      paymentId: payment.paymentId,
      sellerId: order.sellerId,
      currency: 'USD',
      netAmountMinor: order.netAmountMinor,
      deliveredAt: AT,
    });
    await h.publish(delivered);
    await h.publish(delivered);
    await waitFor(() => inboxed('ledger.order-delivered', delivered.messageId), 'order.delivered consumed');
    // A second delivery may still be in flight; give it time to be (not) applied.
    await new Promise((resolve) => setTimeout(resolve, 500));

    expect(await countRows(`SELECT count(*) AS n FROM journal_transactions WHERE correlation_id = $1`, payment.paymentId)).toBe(2);
    expect((await findAccount(h.prisma, 'psp_receivable', 'USD'))?.balanceMinor).toBe(10_000n);
    expect((await findAccount(h.prisma, 'seller_pending:cons_a', 'USD'))?.balanceMinor).toBe(0n);
    expect((await findAccount(h.prisma, 'seller_available:cons_a', 'USD'))?.balanceMinor).toBe(order.netAmountMinor);
    expect((await findAccount(h.prisma, 'seller_pending:cons_b', 'USD'))?.balanceMinor).toBe(4_000n - 116n);
    expect((await findAccount(h.prisma, 'platform_fee_revenue', 'USD'))?.balanceMinor).toBe(290n);
    const timeline = await h.prisma.$queryRawUnsafe<{ payload: { type: string; source: string; data: { kind: string; sellerId?: string } } }[]>(
      `SELECT payload FROM outbox_messages WHERE routing_key = 'timeline.recorded' AND correlation_id = $1 ORDER BY created_at`,
      payment.paymentId,
    );
    expect(timeline.map((row) => row.payload.data.kind)).toEqual(['payment_succeeded', 'order_delivered']);
    // The delivery is seller cons_a's alone: named, so seller cons_b's key does not see it on the
    // payment's timeline; the pay-in moved both sellers' accounts and names neither.
    expect(timeline.map((row) => row.payload.data.sellerId)).toEqual([undefined, 'cons_a']);
    expect(timeline[0]?.payload.source).toBe('ledger');
    expect(await countRows(`SELECT count(*) AS n FROM ledger_check_account_balances()`)).toBe(0);
  });

  it('a payout.failed that arrives before its payout.requested is retried until the request is posted, then reverses it', async () => {
    const payout = { payoutId: 'po_cons_early', sellerId: 'cons_early', currency: 'USD', amountMinor: 700n };
    const failed = eventOf('payout.failed@1', payout.payoutId, { ...payout, failureCode: 'account_closed', failedAt: AT });
    const requested = eventOf('payout.requested@1', payout.payoutId, { ...payout, requestedAt: AT });
    await h.publish(failed);
    // Its first attempt finds nothing to reverse: nothing is posted and the delivery is not recorded.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await countRows(`SELECT count(*) AS n FROM journal_transactions WHERE correlation_id = $1`, payout.payoutId)).toBe(0);
    expect(await inboxed('ledger.payout-failed', failed.messageId)).toBeUndefined();
    await h.publish(requested);
    await waitFor(() => inboxed('ledger.payout-failed', failed.messageId), 'payout.failed consumed on a retry');
    const rows = await h.prisma.$queryRawUnsafe<{ id: string; kind: string; reverses: string | null }[]>(
      `SELECT id::text AS id, kind, reverses_transaction_id::text AS reverses FROM journal_transactions WHERE correlation_id = $1 ORDER BY kind`,
      payout.payoutId,
    );
    expect(rows.map((row) => row.kind)).toEqual(['payout_failed', 'payout_requested']);
    expect(rows[0]?.reverses).toBe(rows[1]?.id);
    expect((await findAccount(h.prisma, 'payouts_in_transit', 'USD'))?.balanceMinor).toBe(0n);
    expect(await countRows(`SELECT count(*) AS n FROM ledger_check_account_balances()`)).toBe(0);
  });

  it('refund.reversed posts the reversal of the refund once, linked to it, and puts the accounts back (retried until the refund is posted)', async () => {
    const payment = paymentSucceeded([{ sellerId: 'cons_rev', amountMinor: 6_000n }], { paymentId: 'pay_cons_rev' });
    const split = { refundId: 're_cons_rev', paymentId: payment.paymentId, paymentOrderId: payment.orders[0]!.paymentOrderId, sellerId: 'cons_rev', amountMinor: 2_000n, feePolicy: 'platform_returns_fee_pro_rata' as const, feeRefundMinor: 58n, pendingMinor: 1_942n, availableMinor: 0n };
    const reversed = eventOf('refund.reversed@1', payment.paymentId, refundReversed(split));
    await h.publish(eventOf('payment.succeeded@1', payment.paymentId, payment));
    // The reversal overtakes its refund: nothing to reverse yet, so it is retried, not parked.
    await h.publish(reversed);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await inboxed('ledger.refund-reversed', reversed.messageId)).toBeUndefined();
    await h.publish(eventOf('refund.succeeded@1', payment.paymentId, refundSucceeded(split)));
    await h.publish(reversed);
    await waitFor(() => inboxed('ledger.refund-reversed', reversed.messageId), 'refund.reversed consumed on a retry');
    await new Promise((resolve) => setTimeout(resolve, 300));

    const rows = await h.prisma.$queryRawUnsafe<{ id: string; kind: string; reverses: string | null }[]>(
      `SELECT id::text AS id, kind, reverses_transaction_id::text AS reverses FROM journal_transactions WHERE correlation_id = $1 AND kind LIKE 'refund%' ORDER BY kind`,
      payment.paymentId,
    );
    expect(rows.map((row) => row.kind)).toEqual(['refund_reversed', 'refund_succeeded']);
    expect(rows[0]?.reverses).toBe(rows[1]?.id);
    expect((await findAccount(h.prisma, 'seller_pending:cons_rev', 'USD'))?.balanceMinor).toBe(payment.orders[0]!.netAmountMinor);
    expect((await findAccount(h.prisma, 'seller_available:cons_rev', 'USD'))?.balanceMinor ?? 0n).toBe(0n);
    expect(await countRows(`SELECT count(*) AS n FROM ledger_check_account_balances()`)).toBe(0);
  });

  it('posts once when the same cause arrives as two different messages (reference is unique)', async () => {
    const payment = paymentSucceeded([{ sellerId: 'cons_c', amountMinor: 1_000n }], { paymentId: 'pay_cons_2' });
    const first = eventOf('payment.succeeded@1', payment.paymentId, payment);
    const second = eventOf('payment.succeeded@1', payment.paymentId, payment);
    await h.publish(first);
    await h.publish(second);
    await waitFor(() => inboxed('ledger.payment-succeeded', first.messageId), 'first consumed');
    await waitFor(() => inboxed('ledger.payment-succeeded', second.messageId), 'second consumed');
    expect(await countRows(`SELECT count(*) AS n FROM journal_transactions WHERE reference = $1`, `payment_succeeded:${payment.paymentId}`)).toBe(1);
    expect(await countRows(`SELECT count(*) AS n FROM outbox_messages WHERE correlation_id = $1`, payment.paymentId)).toBe(1);
  });

  it('posts refunds, payouts, disputes and PSP fees', async () => {
    const payment = paymentSucceeded([{ sellerId: 'cons_d', amountMinor: 20_000n }], { paymentId: 'pay_cons_3' });
    const events = [
      eventOf('payment.succeeded@1', payment.paymentId, payment),
      eventOf('refund.succeeded@1', payment.paymentId, refundSucceeded({ refundId: 're_cons', paymentId: payment.paymentId, sellerId: 'cons_d', paymentOrderId: 'pay_cons_3_po_0' })),
      eventOf('psp.fee_booked@1', 'ch_cons', { balanceTransactionId: 'txn_cons', sourceId: 'ch_cons', currency: 'USD', feeMinor: 320n, bookedAt: AT }),
      eventOf('payout.requested@1', 'po_cons', { payoutId: 'po_cons', sellerId: 'cons_d', currency: 'USD', amountMinor: 5_000n, requestedAt: AT }),
      eventOf('payout.paid@1', 'po_cons', { payoutId: 'po_cons', sellerId: 'cons_d', currency: 'USD', amountMinor: 5_000n, pspPayoutId: 'tr_cons', paidAt: AT }),
      eventOf('payout.requested@1', 'po_cons2', { payoutId: 'po_cons2', sellerId: 'cons_d', currency: 'USD', amountMinor: 1_000n, requestedAt: AT }),
      eventOf('payout.failed@1', 'po_cons2', { payoutId: 'po_cons2', sellerId: 'cons_d', currency: 'USD', amountMinor: 1_000n, failureCode: 'account_closed', failedAt: AT }),
    ];
    for (const event of events) {
      await h.publish(event);
      // Publish in causal order: each waits for the previous one (they use different queues).
      const name = `ledger.${event.type.replace('.', '-').replace('_', '-')}`;
      await waitFor(() => inboxed(name, event.messageId), `${event.type} consumed`);
    }
    const kinds = await h.prisma.$queryRawUnsafe<{ kind: string }[]>(
      `SELECT kind FROM journal_transactions WHERE correlation_id IN ('pay_cons_3', 'ch_cons', 'po_cons', 'po_cons2') ORDER BY kind`,
    );
    expect(kinds.map((row) => row.kind)).toEqual(['payment_succeeded', 'payout_failed', 'payout_paid', 'payout_requested', 'payout_requested', 'psp_fee_booked', 'refund_succeeded']);
    expect((await findAccount(h.prisma, 'payouts_in_transit', 'USD'))?.balanceMinor).toBe(0n);
    expect(await countRows(`SELECT count(*) AS n FROM ledger_check_account_balances()`)).toBe(0);
  });

  it('posts a burst of deliveries in shared transactions, each once, with its timeline events', async () => {
    const payments = Array.from({ length: 40 }, (_, index) => paymentSucceeded([{ sellerId: `burst_${index % 6}`, amountMinor: BigInt(3_000 + index) }], { paymentId: `pay_burst_${index}` }));
    const events = payments.map((payment) => eventOf('payment.succeeded@1', payment.paymentId, payment));
    // All at once, plus a redelivery of one of them (same message id) and the same cause as a new message.
    const again = eventOf('payment.succeeded@1', payments[7]!.paymentId, payments[7]!);
    await Promise.all([...events, events[5]!, again].map((event) => h.publish(event)));
    await waitFor(async () => ((await inboxed('ledger.payment-succeeded', again.messageId)) && (await countRows(`SELECT count(*) AS n FROM journal_transactions WHERE reference LIKE 'payment_succeeded:pay_burst_%'`)) === 40 ? true : undefined), 'the burst posted');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(await countRows(`SELECT count(*) AS n FROM journal_transactions WHERE reference LIKE 'payment_succeeded:pay_burst_%'`)).toBe(40);
    expect(await countRows(`SELECT count(*) AS n FROM outbox_messages WHERE routing_key = 'timeline.recorded' AND correlation_id LIKE 'pay_burst_%'`)).toBe(40);
    const expectedPsp = payments.reduce((sum, payment) => sum + payment.amountMinor, 0n);
    const burstPsp = await h.prisma.$queryRawUnsafe<{ total: string }[]>(
      `SELECT coalesce(sum(e.amount_minor), 0)::text AS total FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
        JOIN journal_transactions t ON t.id = e.transaction_id WHERE a.code = 'psp_receivable' AND t.reference LIKE 'payment_succeeded:pay_burst_%'`,
    );
    expect(BigInt(burstPsp[0]!.total)).toBe(expectedPsp);
    // Group commit happened: fewer database transactions than postings.
    const transactions = await countRows(`SELECT count(DISTINCT xmin::text) AS n FROM journal_transactions WHERE reference LIKE 'payment_succeeded:pay_burst_%'`);
    expect(transactions).toBeLessThan(40);
    expect(await countRows(`SELECT count(*) AS n FROM ledger_check_account_balances()`)).toBe(0);
  });

  it('parks a business-rule violation in the dead-letter queue without posting', async () => {
    const refund = refundSucceeded({ refundId: 're_bad', paymentId: 'pay_bad', feePolicy: 'platform_keeps_fee', feeRefundMinor: 10n, pendingMinor: 990n, amountMinor: 1_000n });
    const event = eventOf('refund.succeeded@1', 'pay_bad', refund);
    await h.publish(event);
    const dlq = deadLetterQueueName(consumerQueueName(h.broker.prefix, 'ledger.refund-succeeded'));
    const parked = await waitFor(async () => {
      const letters = await listDeadLetters({ connection: h.broker.connection, deadLetterQueue: dlq });
      return letters.find((letter) => letter.messageId === event.messageId);
    }, 'the dead letter');
    expect(parked.attempts).toBe(1);
    expect(await countRows(`SELECT count(*) AS n FROM journal_transactions WHERE reference = 'refund_succeeded:re_bad'`)).toBe(0);
  });
});
