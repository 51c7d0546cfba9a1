// Payouts through the gateway: the available balance after delivery, paid out through the PSP,
// with the wallet and ledger following; concurrent requests never pay out more than is available.
import { confirmDelivery, eventually, ledgerBalanceMinor, paidCheckout, walletBalances } from './support/aftersale-helpers';
import { checkoutInput } from './support/payin-helpers';
import { client, platformKey, rawGraphQL, platform, uniqueId } from './support/platform';

const REQUEST_PAYOUT = `mutation($input: RequestPayoutInput!) {
  requestPayout(input: $input) { replayed userErrors { code field message } payout { id status amount { amountMinor currency } pspPayoutId failureCode paidAt seller { id } } }
}`;
const PAYOUT = `query($id: ID!) { payout(id: $id) { id status amount { amountMinor currency } pspPayoutId failureCode paidAt } }`;

interface PayoutOut {
  id: string;
  status: string;
  amount: { amountMinor: string; currency: string };
  pspPayoutId: string | null;
  failureCode: string | null;
  paidAt: string | null;
}
interface RequestPayload {
  replayed: boolean;
  userErrors: { code: string; field: string[] | null; message: string }[];
  payout: PayoutOut | null;
}

async function requestPayout(input: Record<string, unknown>, apiKey = platformKey()): Promise<RequestPayload> {
  return (await client(apiKey).request<{ requestPayout: RequestPayload }>(REQUEST_PAYOUT, { input: { idempotencyKey: uniqueId('payout'), ...input } })).requestPayout;
}

async function payout(id: string): Promise<PayoutOut> {
  return (await client(platformKey()).request<{ payout: PayoutOut }>(PAYOUT, { id })).payout;
}

/** A seller with `amountMinor` (USD, gross) paid and delivered: net available after the platform fee. */
async function sellerWithAvailable(sellerId: string, amountMinor: string): Promise<bigint> {
  const payment = await paidCheckout(checkoutInput({ orders: [{ sellerId, amountMinor }] }));
  const order = payment.orders[0]!;
  const delivered = await confirmDelivery(order.id);
  expect(delivered.userErrors).toEqual([]);
  const net = BigInt(order.netAmount.amountMinor);
  await eventually(() => walletBalances(sellerId), (balances) => balances.some((b) => b.currency === 'USD' && BigInt(b.available.amountMinor) >= net), 20_000, 'available balance');
  return net;
}

test('a payout of the whole available balance is paid through the PSP; wallet and ledger follow', async () => {
  const sellerId = uniqueId('seller');
  const net = await sellerWithAvailable(sellerId, '10000');
  const requested = await requestPayout({ sellerId, currency: 'USD' });
  expect(requested.userErrors).toEqual([]);
  expect(requested.payout!.amount).toEqual({ amountMinor: net.toString(), currency: 'USD' });
  const paid = await eventually(() => payout(requested.payout!.id), (p) => p.status === 'PAID', 30_000, 'payout PAID');
  expect(paid.pspPayoutId).toMatch(/^po_/);
  expect(paid.paidAt).not.toBeNull();
  const balances = await eventually(() => walletBalances(sellerId), (b) => b.some((x) => x.currency === 'USD' && x.available.amountMinor === '0'), 20_000, 'wallet after payout');
  expect(balances.find((b) => b.currency === 'USD')!.available.amountMinor).toBe('0');
  await eventually(() => ledgerBalanceMinor(`seller_available:${sellerId}`, 'USD'), (v) => v === '0', 20_000, 'ledger seller_available');
});

test('typed errors: below minimum, insufficient funds, unsupported currency, another seller', async () => {
  const sellerId = uniqueId('seller');
  const net = await sellerWithAvailable(sellerId, '5000');
  const tooMuch = await requestPayout({ sellerId, currency: 'USD', amountMinor: (net + 1n).toString() });
  expect(tooMuch.userErrors[0]!.code).toBe('INSUFFICIENT_FUNDS');
  const tiny = await requestPayout({ sellerId, currency: 'USD', amountMinor: '1' });
  expect(tiny.userErrors[0]!.code).toBe('PAYOUT_BELOW_MINIMUM');
  const currency = await requestPayout({ sellerId, currency: 'XXX', amountMinor: '100' });
  expect(currency.userErrors[0]!.code).toBe('CURRENCY_NOT_SUPPORTED');
  const sellerKey = (await client(platformKey()).request<{ createSellerApiKey: { apiKey: string } }>(`mutation($s: ID!) { createSellerApiKey(sellerId: $s) { apiKey } }`, { s: uniqueId('other') })).createSellerApiKey.apiKey;
  const forbidden = await requestPayout({ sellerId, currency: 'USD', amountMinor: '1000' }, sellerKey);
  expect(forbidden.userErrors[0]!.code).toBe('FORBIDDEN');
  // None of these reserved anything.
  const balances = await walletBalances(sellerId);
  expect(balances.find((b) => b.currency === 'USD')!.available.amountMinor).toBe(net.toString());
});

test('20 concurrent payout requests for one seller never pay out more than the available balance', async () => {
  const sellerId = uniqueId('seller');
  const net = await sellerWithAvailable(sellerId, '20000');
  const each = net / 7n; // at most 7 fit
  const results = await Promise.all(Array.from({ length: 20 }, () => requestPayout({ sellerId, currency: 'USD', amountMinor: each.toString() })));
  const accepted = results.filter((r) => r.payout !== null);
  const refused = results.filter((r) => r.userErrors.some((e) => e.code === 'INSUFFICIENT_FUNDS'));
  expect(accepted.length + refused.length).toBe(20);
  expect(BigInt(accepted.length) * each).toBeLessThanOrEqual(net);
  expect(accepted.length).toBe(7);
  const balances = await walletBalances(sellerId);
  const usd = balances.find((b) => b.currency === 'USD')!;
  expect(BigInt(usd.available.amountMinor)).toBeGreaterThanOrEqual(0n);
  for (const r of accepted) await eventually(() => payout(r.payout!.id), (p) => p.status === 'PAID', 30_000, 'payout PAID');
});

test('a payout that fails permanently at the PSP is FAILED and the money is available again', async () => {
  const sellerId = uniqueId('seller') + '_fail_closed';
  const net = await sellerWithAvailable(sellerId, '3000');
  const requested = await requestPayout({ sellerId, currency: 'USD' });
  expect(requested.userErrors).toEqual([]);
  const failed = await eventually(() => payout(requested.payout!.id), (p) => p.status === 'FAILED', 30_000, 'payout FAILED');
  expect(failed.failureCode).toBe('account_closed');
  await eventually(() => walletBalances(sellerId), (b) => b.some((x) => x.currency === 'USD' && x.available.amountMinor === net.toString()), 20_000, 'reservation released');
  await eventually(() => ledgerBalanceMinor(`seller_available:${sellerId}`, 'USD'), (v) => v === net.toString(), 20_000, 'ledger reversed');
});

test('the wallet reservation route refuses callers other than the payouts service', async () => {
  const walletBase = platform().urls.wallet.replace('/graphql', '');
  const response = await fetch(`${walletBase}/internal/reservations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ payoutId: 'x', sellerId: 'y', currency: 'USD', amountMinor: '1' }) });
  expect(response.status).toBe(401);
  const viaGraphQL = await rawGraphQL(platform().urls.gateway, { query: '{ __typename }' });
  expect(viaGraphQL.status).toBe(401);
});

describe('PSP failures during a payout', () => {
  afterEach(async () => {
    await fetch(`${platform().urls.psp}/__admin/faults`, { method: 'DELETE' });
  });

  async function pspPayoutsTo(destination: string): Promise<{ id: string; status: string; metadata: Record<string, string> }[]> {
    const response = await fetch(`${platform().urls.psp}/v1/payouts?destination=${encodeURIComponent(destination)}&limit=100`, {
      headers: { authorization: `Bearer ${platform().env.STRIPE_API_KEY ?? 'sk_test_clearhouse'}` },
    });
    return ((await response.json()) as { data: { id: string; status: string; metadata: Record<string, string> }[] }).data;
  }

  test.each([
    ['a 5xx', { apiErrorRate: 1 }],
    ['a timeout', { apiTimeoutRate: 1 }],
  ])('%s from the PSP is retried through the retry tiers and ends PAID with exactly one PSP payout', async (_label, fault) => {
    const sellerId = uniqueId('seller');
    await sellerWithAvailable(sellerId, '4000');
    const faults = await fetch(`${platform().urls.psp}/__admin/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ ...fault, paths: ['/v1/payouts'] }),
    });
    expect(faults.ok).toBe(true);
    const requested = await requestPayout({ sellerId, currency: 'USD' });
    expect(requested.userErrors).toEqual([]);
    // Let the first attempts fail, then let the PSP recover.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect((await payout(requested.payout!.id)).status).not.toBe('PAID');
    await fetch(`${platform().urls.psp}/__admin/faults`, { method: 'DELETE' });
    await eventually(() => payout(requested.payout!.id), (p) => p.status === 'PAID', 45_000, 'payout PAID after the PSP recovered');
    const atPsp = (await pspPayoutsTo(`ba_${sellerId}`)).filter((p) => p.metadata.payoutId === requested.payout!.id);
    expect(atPsp).toHaveLength(1);
    expect(atPsp[0]!.status).toBe('paid');
  });
});
