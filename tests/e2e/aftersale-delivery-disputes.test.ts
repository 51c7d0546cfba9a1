// Issue 6 (after-sale): confirmDelivery (typed errors, idempotent, one movement per order),
// chargebacks (the dispute card → DISPUTED, then won and lost), PSP payout webhooks forwarded
// as psp.payout_updated@1, and checkouts in JPY (no minor unit) and KWD (three decimals).
import { platform, uniqueId } from './support/platform';
import { CARDS, checkoutInput, createCheckout, paymentsDb, payOnHostedPage, signedWebhook, waitForStatus } from './support/payin-helpers';
import { confirmDelivery, eventually, getOrder, ledgerBalanceMinor, outboxOf, paidCheckout, pspGet, seller, walletBalances } from './support/aftersale-helpers';

const DISPUTE_CARD = '4000000000000259';

describe('confirmDelivery', () => {
  test('delivers once: order.delivered@1 with the net still pending; the seller\'s money becomes available', async () => {
    const sellerId = seller();
    const paid = await paidCheckout({ orders: [{ sellerId, amountMinor: '10000' }] });
    const orderId = paid.orders[0]!.id;

    const key = uniqueId('deliver');
    const first = await confirmDelivery(orderId, key);
    expect(first.userErrors).toEqual([]);
    expect(first.replayed).toBe(false);
    expect(first.paymentOrder).toMatchObject({ id: orderId, status: 'DELIVERED' });
    expect(first.paymentOrder!.deliveredAt).not.toBeNull();
    const replay = await confirmDelivery(orderId, key);
    expect(replay).toMatchObject({ replayed: true, userErrors: [], paymentOrder: { id: orderId, status: 'DELIVERED' } });
    // A second confirmation with another key: a stated no-op, the order as it is, no second event.
    const again = await confirmDelivery(orderId);
    expect(again).toMatchObject({ replayed: false, userErrors: [], paymentOrder: { id: orderId, status: 'DELIVERED', deliveredAt: first.paymentOrder!.deliveredAt } });

    const delivered = await outboxOf(paid.id, 'order.delivered');
    expect(delivered).toHaveLength(1);
    expect(delivered[0]!.payload).toMatchObject({ paymentOrderId: orderId, paymentId: paid.id, sellerId, currency: 'USD', netAmountMinor: '9710' });

    // Ledger and wallet (their consumers run in the platform): 97.10 moved pending → available.
    await eventually(() => ledgerBalanceMinor(`seller_available:${sellerId}`, 'USD'), (balance) => balance === '9710', 20_000, 'ledger seller_available');
    expect(await ledgerBalanceMinor(`seller_pending:${sellerId}`, 'USD')).toBe('0');
    const balances = await eventually(() => walletBalances(sellerId), (b) => b.some((x) => x.available.amountMinor === '9710'), 20_000, 'wallet available');
    expect(balances.find((b) => b.currency === 'USD')).toMatchObject({ pending: { amountMinor: '0' }, available: { amountMinor: '9710' } });
  });

  test('typed errors, nothing written: unpaid order → INVALID_STATE, unknown id → NOT_FOUND', async () => {
    const unpaid = await createCheckout(checkoutInput());
    const notPaid = await confirmDelivery(unpaid.orders[0]!.id);
    expect(notPaid.paymentOrder).toBeNull();
    expect(notPaid.userErrors).toEqual([expect.objectContaining({ code: 'INVALID_STATE', field: ['input', 'paymentOrderId'] })]);
    const order = await getOrder(unpaid.orders[0]!.id);
    expect(order).toMatchObject({ status: 'PENDING', deliveredAt: null });
    const unknown = await confirmDelivery('ord_00000000-0000-4000-8000-000000000000');
    expect(unknown.userErrors.map((e) => e.code)).toEqual(['NOT_FOUND']);
    const garbage = await confirmDelivery('nope');
    expect(garbage.userErrors.map((e) => e.code)).toEqual(['NOT_FOUND']);
    expect(await outboxOf(unpaid.id, 'order.delivered')).toHaveLength(0);
  });
});

async function disputeOf(paymentIntentId: string): Promise<{ id: string; status: string; amount: number }> {
  return eventually(
    async () => (await pspGet<{ data: { id: string; status: string; amount: number }[] }>(`/v1/disputes?payment_intent=${paymentIntentId}`)).data[0],
    (dispute) => dispute !== undefined,
    20_000,
    'dispute at the PSP',
  ) as Promise<{ id: string; status: string; amount: number }>;
}

async function closeDisputeAtPsp(disputeId: string, outcome: 'won' | 'lost'): Promise<void> {
  const response = await fetch(`${platform().urls.psp}/__admin/disputes/${disputeId}/close`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ outcome }) });
  if (!response.ok) throw new Error(`closing dispute failed: ${response.status} ${await response.text()}`);
}

describe('disputes', () => {
  test('the dispute card → DISPUTED with the hold split over the orders; won → back to SUCCEEDED, dispute.won@1', async () => {
    const sellerA = seller();
    const sellerB = seller();
    const paid = await paidCheckout({ orders: [{ sellerId: sellerA, amountMinor: '6000' }, { sellerId: sellerB, amountMinor: '4000' }] }, DISPUTE_CARD);
    const disputed = await waitForStatus(paid.id, 'DISPUTED', 20_000);
    expect(disputed.timeline.map((t) => t.type)).toContain('dispute.opened');
    const opened = await outboxOf(paid.id, 'dispute.opened');
    expect(opened).toHaveLength(1);
    // 100.00 split 60/40 over the orders, each from the seller's pending first (net 58.26 / 38.84),
    // the rest from available; the PSP's fee (1500) borne by the platform (the default).
    expect(opened[0]!.payload).toMatchObject({
      paymentId: paid.id,
      currency: 'USD',
      amountMinor: '10000',
      disputeFeeMinor: '1500',
      disputeFeeBorneBy: 'platform',
      orders: [
        { paymentOrderId: paid.orders[0]!.id, sellerId: sellerA, pendingMinor: '5826', availableMinor: '174', disputeFeeMinor: '0' },
        { paymentOrderId: paid.orders[1]!.id, sellerId: sellerB, pendingMinor: '3884', availableMinor: '116', disputeFeeMinor: '0' },
      ],
    });

    const dispute = await disputeOf(paid.pspPaymentId!);
    await closeDisputeAtPsp(dispute.id, 'won');
    const won = await waitForStatus(paid.id, 'SUCCEEDED', 20_000);
    expect(won.timeline.map((t) => t.type)).toContain('dispute.won');
    const wonEvents = await outboxOf(paid.id, 'dispute.won');
    expect(wonEvents).toHaveLength(1);
    expect(wonEvents[0]!.payload).toMatchObject({ amountMinor: '10000', orders: [{ sellerId: sellerA, pendingMinor: '5826', availableMinor: '174' }, { sellerId: sellerB, pendingMinor: '3884', availableMinor: '116' }] });
    const path = (await outboxOf(paid.id, 'payment.status_changed')).map((row) => `${row.payload.from}->${row.payload.to}`);
    expect(path.slice(-2)).toEqual(['SUCCEEDED->DISPUTED', 'DISPUTED->SUCCEEDED']);
    // No second payment.succeeded for the way back.
    expect(await outboxOf(paid.id, 'payment.succeeded')).toHaveLength(1);
    // Ledger: the sellers hold their pending again.
    await eventually(() => ledgerBalanceMinor(`seller_pending:${sellerA}`, 'USD'), (balance) => balance === '5826', 20_000, 'ledger seller_pending after won');
  });

  test('a lost dispute → dispute.lost@1 borne by the seller; the payment stays DISPUTED', async () => {
    const sellerId = seller();
    const paid = await paidCheckout({ orders: [{ sellerId, amountMinor: '5000' }] }, DISPUTE_CARD);
    await waitForStatus(paid.id, 'DISPUTED', 20_000);
    const dispute = await disputeOf(paid.pspPaymentId!);
    await closeDisputeAtPsp(dispute.id, 'lost');
    const lost = await eventually(() => outboxOf(paid.id, 'dispute.lost'), (rows) => rows.length === 1, 20_000, 'dispute.lost');
    expect(lost[0]!.payload).toMatchObject({ paymentId: paid.id, amountMinor: '5000', lossBorneBy: 'seller', orders: [] });
    const payment = await waitForStatus(paid.id, 'DISPUTED');
    expect(payment.timeline.map((t) => t.type)).toContain('dispute.lost');
    const rows = await paymentsDb<{ status: string; status_before: string }>(`SELECT status, status_before FROM disputes WHERE payment_id = $1`, [paid.id]);
    expect(rows).toEqual([{ status: 'LOST', status_before: 'SUCCEEDED' }]);
    // A delivery is still possible; nothing is left in pending to release.
    const delivered = await confirmDelivery(paid.orders[0]!.id);
    expect(delivered.userErrors).toEqual([]);
    const release = await outboxOf(paid.id, 'order.delivered');
    expect(release[0]!.payload.netAmountMinor).toBe('0');
  });
});

describe('PSP payout webhooks', () => {
  test('payout.* → psp.payout_updated@1 through the outbox, once per event id', async () => {
    const metadataPayoutId = uniqueId('payout');
    const body = new URLSearchParams({ amount: '1234', currency: 'usd', destination: 'ba_e2e', 'metadata[payoutId]': metadataPayoutId });
    const created = await fetch(`${platform().urls.psp}/v1/payouts`, { method: 'POST', body, headers: { authorization: `Bearer ${platform().env.STRIPE_API_KEY ?? 'sk_test_clearhouse'}`, 'content-type': 'application/x-www-form-urlencoded' } });
    const payout = (await created.json()) as { id: string };
    expect(payout.id).toMatch(/^po_/);
    const rows = await eventually(
      () => paymentsDb<{ payload: Record<string, string> }>(`SELECT payload FROM outbox_messages WHERE event_type = 'psp.payout_updated' AND payload->>'pspPayoutId' = $1`, [payout.id]),
      (found) => found.some((row) => row.payload.status === 'paid'),
      20_000,
      'psp.payout_updated paid',
    );
    expect(rows.every((row) => row.payload.payoutId === metadataPayoutId)).toBe(true);
    // Replaying a delivered event (same id) publishes nothing new.
    const eventId = rows[0]!.payload.pspEventId!;
    const event = await pspGet<Record<string, unknown>>(`/v1/events/${eventId}`);
    const payload = JSON.stringify(event);
    const response = await fetch(new URL('/webhooks/stripe', platform().urls.payments), {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'stripe-signature': await signedWebhook(payload, platform().env.STRIPE_WEBHOOK_SECRET ?? 'whsec_dev') },
      body: payload,
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ duplicate: true });
    const after = await paymentsDb<{ count: string }>(`SELECT count(*)::text AS count FROM outbox_messages WHERE event_type = 'psp.payout_updated' AND payload->>'pspEventId' = $1`, [eventId]);
    expect(after[0]!.count).toBe('1');
  });
});

describe('currencies without two decimals', () => {
  test.each([
    ['JPY', '1500', '1500'],
    ['KWD', '12340', '12.340'],
  ])('%s checkout paid end to end', async (currency, amountMinor, amount) => {
    const sellerId = seller();
    const created = await createCheckout(checkoutInput({ currency, orders: [{ sellerId, amountMinor }] }));
    expect(created.amount).toEqual({ amountMinor, currency, amount });
    await payOnHostedPage(created.checkoutUrl!, CARDS.success);
    const paid = await waitForStatus(created.id, 'SUCCEEDED');
    const succeeded = await outboxOf(paid.id, 'payment.succeeded');
    expect(succeeded[0]!.payload).toMatchObject({ currency, amountMinor });
    const intent = await pspGet<{ amount: number; currency: string; status: string }>(`/v1/payment_intents/${paid.pspPaymentId}`);
    expect(intent).toMatchObject({ amount: Number(amountMinor), currency: currency.toLowerCase(), status: 'succeeded' });
    // Delivery works in these currencies too.
    expect((await confirmDelivery(paid.orders[0]!.id)).userErrors).toEqual([]);
  });
});
