// Issue 6 (after-sale): partial and full refunds through the gateway, the refundable amount
// enforced under concurrency, PSP errors and timeouts on /v1/refunds, duplicated webhooks, and a
// refund that fails at the PSP after it succeeded (Stripe's test card 4000 0000 0000 5126).
// Faults are global to the simulator: they target /v1/refunds only, and this is the only file
// that creates refunds, so the cases here run one after another.
import { opsKey, platform, rawGraphQL, uniqueId } from './support/platform';
import { CARDS, checkoutInput, clearPspFaults, createCheckout, paymentsDb, pspLog, setPspFaults, sleep, waitForStatus } from './support/payin-helpers';
import { eventually, getOrder, ledgerBalanceMinor, outboxOf, paidCheckout, refundOrder, refundsAtPsp, seller, settledOrder, walletBalances } from './support/aftersale-helpers';

afterEach(async () => {
  await clearPspFaults();
});

describe('refundPaymentOrder', () => {
  test('partial then full refunds: statuses, amounts to the cent, split per policy, events once', async () => {
    const sellerA = seller();
    const sellerB = seller();
    const paid = await paidCheckout({ orders: [{ sellerId: sellerA, amountMinor: '6000' }, { sellerId: sellerB, amountMinor: '4000' }] });
    const [orderA, orderB] = paid.orders;

    const key = uniqueId('refund');
    const first = await refundOrder({ paymentOrderId: orderA!.id, amountMinor: '1000', reason: 'damaged', idempotencyKey: key });
    expect(first.userErrors).toEqual([]);
    expect(first.refund).toMatchObject({ amount: { amountMinor: '1000', currency: 'USD', amount: '10.00' }, paymentOrder: { id: orderA!.id } });
    expect(first.refund!.id).toMatch(/^rf_/);
    expect(['PENDING', 'SUCCEEDED']).toContain(first.refund!.status);
    const replay = await refundOrder({ paymentOrderId: orderA!.id, amountMinor: '1000', reason: 'damaged', idempotencyKey: key });
    expect(replay).toMatchObject({ replayed: true, userErrors: [], refund: { id: first.refund!.id } });
    const reused = await refundOrder({ paymentOrderId: orderA!.id, amountMinor: '999', idempotencyKey: key });
    expect(reused.userErrors.map((e) => e.code)).toEqual(['IDEMPOTENCY_KEY_REUSED']);

    const afterFirst = await settledOrder(orderA!.id, (o) => o.refunds[0]?.status === 'SUCCEEDED', 15_000, 'first refund SUCCEEDED');
    expect(afterFirst).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: { amountMinor: '1000', amount: '10.00' }, payment: { status: 'PARTIALLY_REFUNDED', refundedAmount: { amountMinor: '1000' } } });

    // Over-refund: 5001 > 6000 - 1000. Typed error, nothing written.
    const refundsBefore = await paymentsDb<{ count: string }>(`SELECT count(*)::text AS count FROM refunds WHERE payment_id = $1`, [paid.id]);
    const over = await refundOrder({ paymentOrderId: orderA!.id, amountMinor: '5001' });
    expect(over.refund).toBeNull();
    expect(over.userErrors).toEqual([expect.objectContaining({ code: 'AMOUNT_EXCEEDS_REFUNDABLE', field: ['input', 'amountMinor'] })]);
    const refundsAfter = await paymentsDb<{ count: string }>(`SELECT count(*)::text AS count FROM refunds WHERE payment_id = $1`, [paid.id]);
    expect(refundsAfter).toEqual(refundsBefore);

    // Full refund of the rest of A (amount omitted), then all of B.
    const restA = await refundOrder({ paymentOrderId: orderA!.id });
    expect(restA.userErrors).toEqual([]);
    expect(restA.refund!.amount.amountMinor).toBe('5000');
    await eventually(() => getOrder(orderA!.id), (o) => o.status === 'REFUNDED', 15_000, 'order A REFUNDED');
    expect((await getOrder(orderA!.id)).payment).toMatchObject({ status: 'PARTIALLY_REFUNDED', refundedAmount: { amountMinor: '6000' } });
    const allB = await refundOrder({ paymentOrderId: orderB!.id });
    expect(allB.refund!.amount.amountMinor).toBe('4000');
    const payment = await waitForStatus(paid.id, 'REFUNDED');
    expect((payment as unknown as { refundedAmount: unknown }).refundedAmount).toEqual({ amountMinor: '10000', currency: 'USD', amount: '100.00' });
    expect(payment.orders.map((o) => o.status)).toEqual(['REFUNDED', 'REFUNDED']);

    // Nothing left: another refund is refused.
    const nothingLeft = await refundOrder({ paymentOrderId: orderB!.id });
    expect(nothingLeft.userErrors.map((e) => e.code)).toEqual(['AMOUNT_EXCEEDS_REFUNDABLE']);

    // refund.succeeded@1 once per refund, split by planRefund with platform_keeps_fee (the
    // default): A fee 174 net 5826, B fee 116 net 3884; pending first, the rest from available.
    const refunds = (await outboxOf(paid.id, 'refund.succeeded')).map((row) => row.payload);
    expect(refunds).toHaveLength(3);
    expect(refunds[0]).toMatchObject({ paymentOrderId: orderA!.id, sellerId: sellerA, amountMinor: '1000', feePolicy: 'platform_keeps_fee', feeRefundMinor: '0', pendingMinor: '1000', availableMinor: '0' });
    expect(refunds[1]).toMatchObject({ paymentOrderId: orderA!.id, amountMinor: '5000', feeRefundMinor: '0', pendingMinor: '4826', availableMinor: '174' });
    expect(refunds[2]).toMatchObject({ paymentOrderId: orderB!.id, sellerId: sellerB, amountMinor: '4000', feeRefundMinor: '0', pendingMinor: '3884', availableMinor: '116' });
    const path = (await outboxOf(paid.id, 'payment.status_changed')).map((row) => `${row.payload.from}->${row.payload.to}:${row.payload.refundedAmountMinor}`);
    expect(path.slice(-3)).toEqual(['SUCCEEDED->PARTIALLY_REFUNDED:1000', 'PARTIALLY_REFUNDED->PARTIALLY_REFUNDED:6000', 'PARTIALLY_REFUNDED->REFUNDED:10000']);
    // One refund at the PSP per refund of ours.
    const atPsp = await refundsAtPsp(paid.pspPaymentId!);
    expect(atPsp.map((r) => r.amount).sort((a, b) => a - b)).toEqual([1000, 4000, 5000]);
    // The wallet applied the same split: seller A's pending is empty, its available bears the kept fee.
    const balancesA = await eventually(() => walletBalances(sellerA), (b) => b.some((x) => x.currency === 'USD' && x.pending.amountMinor === '0'), 15_000, 'wallet of seller A');
    expect(balancesA.find((b) => b.currency === 'USD')).toMatchObject({ pending: { amountMinor: '0' }, available: { amountMinor: '-174' } });
  });

  test('typed errors write nothing: bad amount, unknown order, unpaid order', async () => {
    const unpaid = await createCheckout(checkoutInput());
    const zero = await refundOrder({ paymentOrderId: unpaid.orders[0]!.id, amountMinor: '0' });
    expect(zero.userErrors).toEqual([expect.objectContaining({ code: 'INVALID_INPUT', field: ['input', 'amountMinor'] })]);
    const unknown = await refundOrder({ paymentOrderId: 'ord_00000000-0000-4000-8000-000000000000' });
    expect(unknown.userErrors.map((e) => e.code)).toEqual(['NOT_FOUND']);
    const notPaid = await refundOrder({ paymentOrderId: unpaid.orders[0]!.id, amountMinor: '100' });
    expect(notPaid.userErrors.map((e) => e.code)).toEqual(['INVALID_STATE']);
    const rows = await paymentsDb<{ count: string }>(`SELECT count(*)::text AS count FROM refunds WHERE payment_id = $1`, [unpaid.id]);
    expect(rows[0]!.count).toBe('0');
  });

  test('10 concurrent refunds of one order never exceed the refundable amount', async () => {
    const paid = await paidCheckout({ orders: [{ sellerId: seller(), amountMinor: '10000' }] });
    const orderId = paid.orders[0]!.id;
    const results = await Promise.all(Array.from({ length: 10 }, () => refundOrder({ paymentOrderId: orderId, amountMinor: '1500' })));
    const accepted = results.filter((r) => r.refund && r.userErrors.length === 0);
    const refused = results.filter((r) => r.userErrors.some((e) => e.code === 'AMOUNT_EXCEEDS_REFUNDABLE'));
    expect(accepted).toHaveLength(6);
    expect(refused).toHaveLength(4);
    const order = await settledOrder(orderId, (o) => o.refunds.every((r) => r.status === 'SUCCEEDED'), 20_000, 'all refunds settled');
    expect(order.refundedAmount.amountMinor).toBe('9000');
    expect(order.status).toBe('PARTIALLY_REFUNDED');
    const atPsp = await refundsAtPsp(paid.pspPaymentId!);
    expect(atPsp.reduce((sum, r) => sum + r.amount, 0)).toBe(9000);
    // The last 1000 is still refundable, once.
    const rest = await refundOrder({ paymentOrderId: orderId });
    expect(rest.refund!.amount.amountMinor).toBe('1000');
    await waitForStatus(paid.id, 'REFUNDED', 20_000);
  });

  test('PSP errors on /v1/refunds: the refund stays PENDING, the re-check finishes it, once', async () => {
    const paid = await paidCheckout({ orders: [{ sellerId: seller(), amountMinor: '2500' }] });
    const since = new Date().toISOString();
    await setPspFaults({ apiErrorRate: 1, paths: ['/v1/refunds'] });
    const result = await refundOrder({ paymentOrderId: paid.orders[0]!.id, amountMinor: '700' });
    expect(result.userErrors).toEqual([]);
    expect(result.refund!.status).toBe('PENDING');
    await sleep(1_500);
    await clearPspFaults();
    const order = await settledOrder(paid.orders[0]!.id, (o) => o.refunds[0]?.status === 'SUCCEEDED', 20_000, 'refund settled by the re-check');
    expect(order.refundedAmount.amountMinor).toBe('700');
    const attempts = (await pspLog(since)).filter((e) => e.kind === 'api' && e.method === 'POST' && e.path === '/v1/refunds');
    expect(attempts.some((e) => e.status === 500)).toBe(true);
    expect(attempts.every((e) => e.idempotencyKey?.startsWith(`refund:${result.refund!.id}`))).toBe(true);
    expect(await refundsAtPsp(paid.pspPaymentId!)).toHaveLength(1);
    expect(await outboxOf(paid.id, 'refund.succeeded')).toHaveLength(1);
  });

  test('PSP timeouts on /v1/refunds: retried with the same key, never refunded twice', async () => {
    const paid = await paidCheckout({ orders: [{ sellerId: seller(), amountMinor: '3000' }] });
    await setPspFaults({ apiTimeoutRate: 1, paths: ['/v1/refunds'] });
    const result = await refundOrder({ paymentOrderId: paid.orders[0]!.id, amountMinor: '1200' });
    expect(result.userErrors).toEqual([]);
    expect(result.refund!.status).toBe('PENDING');
    await clearPspFaults();
    const order = await settledOrder(paid.orders[0]!.id, (o) => o.refunds[0]?.status === 'SUCCEEDED', 25_000, 'refund settled after timeouts');
    expect(order.refundedAmount.amountMinor).toBe('1200');
    expect((await refundsAtPsp(paid.pspPaymentId!)).map((r) => r.amount)).toEqual([1200]);
    expect(await outboxOf(paid.id, 'refund.succeeded')).toHaveLength(1);
  });

  test('duplicated and shuffled refund webhooks → one refund.succeeded', async () => {
    const paid = await paidCheckout({ orders: [{ sellerId: seller(), amountMinor: '1800' }] });
    await setPspFaults({ webhookDuplicateRate: 1, webhookShuffle: true });
    const result = await refundOrder({ paymentOrderId: paid.orders[0]!.id });
    expect(result.userErrors).toEqual([]);
    await waitForStatus(paid.id, 'REFUNDED');
    await sleep(1_500); // let the late copies arrive
    const events = await outboxOf(paid.id, 'refund.succeeded');
    expect(events).toHaveLength(1);
    expect(events[0]!.payload).toMatchObject({ amountMinor: '1800', refundId: result.refund!.id });
  });

  test('a refund that fails at the PSP after it succeeded (card 5126) is undone: order, payment, ledger and wallet back; the audit is clean', async () => {
    const sellerId = seller();
    const paid = await paidCheckout({ orders: [{ sellerId, amountMinor: '5000' }] }, CARDS.refundFails);
    const orderId = paid.orders[0]!.id;
    const netMinor = (5000n - 145n).toString(); // 2.9% fee, half-up
    await eventually(() => walletBalances(sellerId), (b) => b.some((x) => x.currency === 'USD' && x.pending.amountMinor === netMinor), 15_000, 'wallet credited');

    const result = await refundOrder({ paymentOrderId: orderId });
    expect(result.userErrors).toEqual([]);
    const order = await settledOrder(orderId, (o) => o.refunds[0]?.status === 'FAILED', 20_000, 'refund FAILED after it succeeded');
    expect(order).toMatchObject({ status: 'SUCCEEDED', refundedAmount: { amountMinor: '0' }, payment: { status: 'SUCCEEDED', refundedAmount: { amountMinor: '0' } } });
    const path = (await outboxOf(paid.id, 'payment.status_changed')).map((row) => `${row.payload.from}->${row.payload.to}:${row.payload.refundedAmountMinor}`);
    expect(path.slice(-2)).toEqual(['SUCCEEDED->REFUNDED:5000', 'REFUNDED->SUCCEEDED:0']);
    expect(await outboxOf(paid.id, 'refund.succeeded')).toHaveLength(1);
    expect((await outboxOf(paid.id, 'refund.reversed')).map((row) => row.payload)).toEqual([expect.objectContaining({ refundId: result.refund!.id, amountMinor: '5000', pendingMinor: netMinor, availableMinor: '145' })]);

    // The ledger reversed the refund's posting and the wallet followed: the seller holds the net again.
    await eventually(() => ledgerBalanceMinor(`seller_pending:${sellerId}`, 'USD'), (balance) => balance === netMinor, 15_000, 'ledger seller_pending back');
    expect(await ledgerBalanceMinor(`seller_available:${sellerId}`, 'USD')).toBe('0');
    const balances = await eventually(() => walletBalances(sellerId), (b) => b.some((x) => x.currency === 'USD' && x.pending.amountMinor === netMinor), 15_000, 'wallet back');
    expect(balances.find((b) => b.currency === 'USD')).toMatchObject({ pending: { amountMinor: netMinor }, available: { amountMinor: '0' } });
    const audit = await eventually(async () => {
      const response = await rawGraphQL(
        platform().urls.gateway,
        { query: `query { audit { ok violations walletMismatches { sellerId currency field walletMinor ledgerMinor } postingCounts { kind transactions distinctReferences } } }` },
        { authorization: `Bearer ${opsKey()}` },
      );
      if (response.json.errors) throw new Error(JSON.stringify(response.json.errors));
      return response.json.data.audit as { ok: boolean; violations: unknown[]; walletMismatches: { sellerId: string }[]; postingCounts: { kind: string; transactions: number; distinctReferences: number }[] };
    }, (report) => !report.walletMismatches.some((mismatch) => mismatch.sellerId === sellerId), 15_000, 'an audit where the seller matches');
    expect(audit.ok).toBe(true);
    expect(audit.violations).toEqual([]);
    expect(audit.postingCounts.find((count) => count.kind === 'refund_reversed')?.transactions).toBeGreaterThanOrEqual(1);
  });
});
