// A dashboard subscribed to a payment sees every status change live, through the gateway.
import { CARDS, checkoutInput, createCheckout, payOnHostedPage } from './support/payin-helpers';
import { client, platformKey, uniqueId } from './support/platform';
import { collect, wsClient } from './support/subscriptions';

const paymentUpdated = `subscription($id: ID!) {
  paymentUpdated(paymentId: $id) { id status amount { amountMinor currency } orders { seller { id } netAmount { amountMinor } } }
}`;

interface Update {
  paymentUpdated: { id: string; status: string; amount: { amountMinor: string; currency: string }; orders: { seller: { id: string }; netAmount: { amountMinor: string } }[] };
}

test('paymentUpdated pushes PROCESSING and then SUCCEEDED as they happen', async () => {
  const payment = await createCheckout(checkoutInput({ orders: [{ sellerId: uniqueId('seller'), amountMinor: '1999' }] }));
  const ws = wsClient(platformKey());
  const sub = collect<Update>(ws, paymentUpdated, { id: payment.id });
  try {
    // The subscription is live once the server has acknowledged it; give it a moment, then pay.
    await new Promise((resolve) => setTimeout(resolve, 300));
    await payOnHostedPage(payment.checkoutUrl!, CARDS.processing);
    const values = await sub.until((v) => v.some((u) => u.paymentUpdated.status === 'SUCCEEDED'));
    const statuses = values.map((u) => u.paymentUpdated.status);
    expect(statuses).toContain('PROCESSING');
    expect(statuses.indexOf('PROCESSING')).toBeLessThan(statuses.indexOf('SUCCEEDED'));
    const last = values[values.length - 1]!.paymentUpdated;
    expect(last.id).toBe(payment.id);
    expect(last.amount).toEqual({ amountMinor: '1999', currency: 'USD' });
  } finally {
    sub.stop();
    await ws.dispose();
  }
});

test('a seller key sees updates of a payment that contains its order, with only its own order', async () => {
  const own = uniqueId('seller');
  const other = uniqueId('seller');
  const key = (await client(platformKey()).request<{ createSellerApiKey: { apiKey: string } }>(`mutation($s: ID!) { createSellerApiKey(sellerId: $s) { apiKey } }`, { s: own })).createSellerApiKey.apiKey;
  const payment = await createCheckout(checkoutInput({ orders: [{ sellerId: own, amountMinor: '1000' }, { sellerId: other, amountMinor: '500' }] }));
  const ws = wsClient(key);
  const sub = collect<Update>(ws, paymentUpdated, { id: payment.id });
  try {
    await new Promise((resolve) => setTimeout(resolve, 300));
    await payOnHostedPage(payment.checkoutUrl!, CARDS.success);
    const values = await sub.until((v) => v.some((u) => u.paymentUpdated.status === 'SUCCEEDED'));
    for (const update of values) expect(update.paymentUpdated.orders.map((o) => o.seller.id)).toEqual([own]);
  } finally {
    sub.stop();
    await ws.dispose();
  }
});
