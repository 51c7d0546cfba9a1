// Subscriptions authenticate with the same API keys and honour seller isolation.
import { client, platformKey, uniqueId } from './support/platform';
import { collect, wsClient } from './support/subscriptions';

const balances = `subscription($sellerId: ID!) { sellerBalancesUpdated(sellerId: $sellerId) { id balances { currency } } }`;

async function sellerKey(sellerId: string): Promise<string> {
  const result = await client(platformKey()).request<{ createSellerApiKey: { apiKey: string } }>(
    `mutation($sellerId: ID!) { createSellerApiKey(sellerId: $sellerId) { apiKey } }`,
    { sellerId },
  );
  return result.createSellerApiKey.apiKey;
}

test('a connection without a valid key is refused', async () => {
  for (const key of [null, 'not_a_key']) {
    const ws = wsClient(key);
    const sub = collect(ws, balances, { sellerId: uniqueId('s') });
    await sub.completed;
    expect(sub.values).toEqual([]);
    expect(JSON.stringify(sub.errors)).toMatch(/4403|Forbidden/i);
    await ws.dispose();
  }
});

test('a seller key cannot subscribe to another seller', async () => {
  const own = uniqueId('seller');
  const ws = wsClient(await sellerKey(own));
  const sub = collect(ws, balances, { sellerId: uniqueId('other') });
  await sub.completed;
  expect(sub.values).toEqual([]);
  expect(JSON.stringify(sub.errors)).toContain('FORBIDDEN');
  await ws.dispose();
});

test('a subscription to an unknown payment is refused, not left hanging', async () => {
  const ws = wsClient(platformKey());
  const sub = collect(ws, `subscription($id: ID!) { paymentUpdated(paymentId: $id) { id status } }`, { id: 'pay_does_not_exist' });
  await sub.completed;
  expect(sub.values).toEqual([]);
  expect(sub.errors.length).toBeGreaterThan(0);
  await ws.dispose();
});
