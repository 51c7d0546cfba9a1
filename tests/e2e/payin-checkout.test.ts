// Issue 5 (pay-in): createCheckout's validation, idempotency, risk rules, access per seller,
// cancelPayment, pagination and the webhook endpoint's signature check.
import { client, platform, platformKey, rawGraphQL, uniqueId } from './support/platform';
import {
  CANCEL_PAYMENT,
  CARDS,
  checkoutInput,
  createCheckout,
  createCheckoutOnce,
  getPayment,
  payOnHostedPage,
  paymentsDb,
  pspPaymentIntentsOf,
  signedWebhook,
  sleep,
  waitForStatus,
  type CheckoutInput,
  type CheckoutPayload,
  type PaymentOut,
} from './support/payin-helpers';

const createSellerKey = `mutation($sellerId: ID!) { createSellerApiKey(sellerId: $sellerId) { apiKey } }`;

async function sellerKey(sellerId: string): Promise<string> {
  return (await client(platformKey()).request<{ createSellerApiKey: { apiKey: string } }>(createSellerKey, { sellerId })).createSellerApiKey.apiKey;
}

async function rowsForKey(key: string): Promise<{ payments: number; keys: number }> {
  const [payments] = await paymentsDb<{ n: string }>(`SELECT count(*)::text AS n FROM payments WHERE idempotency_key = $1`, [key]);
  const [keys] = await paymentsDb<{ n: string }>(`SELECT count(*)::text AS n FROM idempotency_keys WHERE key = $1`, [key]);
  return { payments: Number(payments?.n), keys: Number(keys?.n) };
}

async function cancel(paymentId: string, idempotencyKey = uniqueId('cancel'), apiKey = platformKey()) {
  return (await client(apiKey).request<{ cancelPayment: { replayed: boolean; userErrors: { code: string; field: string[] | null }[]; payment: { id: string; status: string; checkoutUrl: string | null } | null } }>(CANCEL_PAYMENT, { input: { idempotencyKey, paymentId } })).cancelPayment;
}

describe('createCheckout validation: typed userErrors with field paths, nothing written', () => {
  const seller = 'seller_valid';
  const cases: [string, Partial<CheckoutInput>, string, string[]][] = [
    ['unsupported currency', { currency: 'XXX' }, 'CURRENCY_NOT_SUPPORTED', ['input', 'currency']],
    ['lower-case currency', { currency: 'usd' }, 'CURRENCY_NOT_SUPPORTED', ['input', 'currency']],
    ['zero amount', { orders: [{ sellerId: seller, amountMinor: '0' }] }, 'INVALID_INPUT', ['input', 'orders', '0', 'amountMinor']],
    ['amount above the currency maximum', { orders: [{ sellerId: seller, amountMinor: '1' }, { sellerId: seller, amountMinor: '100000000' }] }, 'INVALID_INPUT', ['input', 'orders', '1', 'amountMinor']],
    ['orders adding up above the maximum', { orders: [{ sellerId: seller, amountMinor: '99999999' }, { sellerId: 's2', amountMinor: '1' }] }, 'INVALID_INPUT', ['input', 'orders']],
    ['no orders', { orders: [] }, 'INVALID_INPUT', ['input', 'orders']],
    ['51 orders', { orders: Array.from({ length: 51 }, (_, i) => ({ sellerId: `s${i}`, amountMinor: '100' })) }, 'INVALID_INPUT', ['input', 'orders']],
    ['duplicate seller reference', { orders: [{ sellerId: seller, amountMinor: '100', reference: 'R' }, { sellerId: seller, amountMinor: '200', reference: 'R' }] }, 'INVALID_INPUT', ['input', 'orders', '1', 'reference']],
    ['malformed buyer id', { buyerId: 'not a buyer!' }, 'INVALID_INPUT', ['input', 'buyerId']],
    ['malformed seller id', { orders: [{ sellerId: 'bad seller', amountMinor: '100' }] }, 'INVALID_INPUT', ['input', 'orders', '0', 'sellerId']],
    ['empty idempotency key', { idempotencyKey: '' }, 'INVALID_INPUT', ['input', 'idempotencyKey']],
    ['idempotency key too long', { idempotencyKey: 'k'.repeat(256) }, 'INVALID_INPUT', ['input', 'idempotencyKey']],
    ['non-http return URL', { returnUrl: 'javascript:alert(1)' }, 'INVALID_INPUT', ['input', 'returnUrl']],
    ['oversized metadata', { metadata: { blob: 'x'.repeat(5000) } }, 'INVALID_INPUT', ['input', 'metadata']],
    ['metadata not an object', { metadata: [1, 2] }, 'INVALID_INPUT', ['input', 'metadata']],
  ];

  test.each(cases)('%s', async (_name, overrides, code, field) => {
    const input = checkoutInput(overrides);
    const buyerBefore = await paymentsDb<{ n: string }>(`SELECT count(*)::text AS n FROM payments WHERE buyer_id = $1`, [input.buyerId]);
    const payload = await createCheckoutOnce(input);
    expect(payload.payment).toBeNull();
    expect(payload.replayed).toBe(false);
    expect(payload.userErrors).toContainEqual(expect.objectContaining({ code, field }));
    expect(await rowsForKey(input.idempotencyKey)).toEqual({ payments: 0, keys: 0 });
    const buyerAfter = await paymentsDb<{ n: string }>(`SELECT count(*)::text AS n FROM payments WHERE buyer_id = $1`, [input.buyerId]);
    expect(buyerAfter).toEqual(buyerBefore);
  });

  test('several problems are reported at once', async () => {
    const payload = await createCheckoutOnce(checkoutInput({ currency: 'XXX', buyerId: 'bad buyer', orders: [{ sellerId: 'x', amountMinor: '0' }] }));
    expect(payload.userErrors.map((e) => e.field?.join('.'))).toEqual(expect.arrayContaining(['input.currency', 'input.buyerId', 'input.orders.0.amountMinor']));
  });

  test('a negative amount is rejected by the BigInt scalar before the resolver', async () => {
    const { json } = await rawGraphQL(platform().urls.gateway, { query: `mutation($input: CreateCheckoutInput!) { createCheckout(input: $input) { replayed } }`, variables: { input: checkoutInput({ orders: [{ sellerId: 's', amountMinor: '-5' }] }) } }, { authorization: `Bearer ${platformKey()}` });
    expect(json.errors?.length).toBeGreaterThan(0);
  });

  test('only the platform role may create checkouts', async () => {
    const key = await sellerKey(uniqueId('seller'));
    const input = checkoutInput();
    const payload = await createCheckoutOnce(input, key);
    expect(payload.userErrors[0]!.code).toBe('FORBIDDEN');
    expect(await rowsForKey(input.idempotencyKey)).toEqual({ payments: 0, keys: 0 });
  });
});

describe('risk rules', () => {
  test.each([
    ['blocked buyer', { buyerId: 'e2e_blocked_buyer' }],
    ['blocked seller', { orders: [{ sellerId: 'e2e_blocked_seller', amountMinor: '100' }] }],
    ['amount above the per-payment limit', { orders: [{ sellerId: 'seller_big', amountMinor: '10000001' }] }],
  ] as [string, Partial<CheckoutInput>][])('%s → RISK_REJECTED before the PSP', async (_name, overrides) => {
    const input = checkoutInput(overrides);
    const payload = await createCheckoutOnce(input);
    expect(payload.payment).toBeNull();
    expect(payload.userErrors).toEqual([expect.objectContaining({ code: 'RISK_REJECTED' })]);
    expect((await rowsForKey(input.idempotencyKey)).payments).toBe(0);
    // The verdict is stored under the key like any result.
    expect((await createCheckoutOnce(input)).replayed).toBe(true);
  });
});

describe('idempotency of createCheckout', () => {
  test('same key and input → the same payment, replayed: true', async () => {
    const input = checkoutInput();
    const first = await createCheckout(input);
    const again = await createCheckoutOnce({ ...input, orders: input.orders.map((o) => ({ ...o, amountMinor: Number(o.amountMinor) })) });
    expect(again.replayed).toBe(true);
    expect(again.payment!.id).toBe(first.id);
    expect(again.userErrors).toEqual([]);
  });

  test('same key, different input → IDEMPOTENCY_KEY_REUSED', async () => {
    const input = checkoutInput();
    await createCheckout(input);
    const other = await createCheckoutOnce({ ...input, orders: [{ ...input.orders[0]!, amountMinor: '2501' }] });
    expect(other.payment).toBeNull();
    expect(other.userErrors[0]).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', field: ['input', 'idempotencyKey'] });
  });

  test('50 concurrent identical calls → one payment row, one payment intent; the others in use or replayed (IN_USE made certain in payin-faults)', async () => {
    const input = checkoutInput();
    const payloads: CheckoutPayload[] = await Promise.all(Array.from({ length: 50 }, () => createCheckoutOnce(input)));
    const codes = new Set(payloads.flatMap((p) => p.userErrors.map((e) => e.code)));
    for (const code of codes) expect(['IDEMPOTENCY_KEY_IN_USE', 'PSP_UNAVAILABLE']).toContain(code);
    const final: PaymentOut = await createCheckout(input);
    for (const p of payloads) if (p.payment) expect(p.payment.id).toBe(final.id);
    expect((await rowsForKey(input.idempotencyKey)).payments).toBe(1);
    expect(await pspPaymentIntentsOf(final.id)).toHaveLength(1);
    expect((await createCheckoutOnce(input)).replayed).toBe(true);
  });
});

describe('object-level access for seller keys', () => {
  test('a seller sees only payments with its orders, and only its own orders in them', async () => {
    const sellerA = uniqueId('sa');
    const sellerB = uniqueId('sb');
    const shared = await createCheckout(checkoutInput({ orders: [{ sellerId: sellerA, amountMinor: '1000' }, { sellerId: sellerB, amountMinor: '2000' }] }));
    const onlyB = await createCheckout(checkoutInput({ orders: [{ sellerId: sellerB, amountMinor: '3000' }] }));
    const keyA = await sellerKey(sellerA);

    const seen = await getPayment(shared.id, keyA);
    expect(seen!.orders.map((o) => o.seller.id)).toEqual([sellerA]);
    expect(await getPayment(onlyB.id, keyA)).toBeNull();

    const orderB = shared.orders.find((o) => o.seller.id === sellerB)!;
    const order = await client(keyA).request<{ paymentOrder: unknown }>(`query($id: ID!) { paymentOrder(id: $id) { id } }`, { id: orderB.id });
    expect(order.paymentOrder).toBeNull();

    const list = await client(keyA).request<{ payments: { edges: { node: { id: string; orders: { seller: { id: string } }[] } }[] } }>(`{ payments(first: 100) { edges { node { id orders { seller { id } } } } } }`);
    expect(list.payments.edges.map((e) => e.node.id)).toEqual([shared.id]);
    expect(list.payments.edges[0]!.node.orders.map((o) => o.seller.id)).toEqual([sellerA]);

    const other = await rawGraphQL(platform().urls.gateway, { query: `query($s: ID) { payments(sellerId: $s) { edges { node { id } } } }`, variables: { s: sellerB } }, { authorization: `Bearer ${keyA}` });
    expect(other.json.data?.payments ?? null).toBeNull();
    expect(other.json.errors[0].extensions.code).toBe('FORBIDDEN');
  });
});

describe('payments query', () => {
  test('cursor pagination, newest first, filtered by seller and status', async () => {
    const seller = uniqueId('pg');
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await createCheckout(checkoutInput({ orders: [{ sellerId: seller, amountMinor: String(100 + i) }] }))).id);
    const query = `query($after: String, $s: ID, $status: PaymentStatus) { payments(first: 2, after: $after, sellerId: $s, status: $status) { edges { cursor node { id } } pageInfo { hasNextPage endCursor } } }`;
    type Page = { payments: { edges: { node: { id: string } }[]; pageInfo: { hasNextPage: boolean; endCursor: string } } };
    const first = await client(platformKey()).request<Page>(query, { s: seller });
    expect(first.payments.edges.map((e) => e.node.id)).toEqual([ids[2], ids[1]]);
    expect(first.payments.pageInfo.hasNextPage).toBe(true);
    const second = await client(platformKey()).request<Page>(query, { s: seller, after: first.payments.pageInfo.endCursor });
    expect(second.payments.edges.map((e) => e.node.id)).toEqual([ids[0]]);
    expect(second.payments.pageInfo.hasNextPage).toBe(false);
    const none = await client(platformKey()).request<Page>(query, { s: seller, status: 'SUCCEEDED' });
    expect(none.payments.edges).toEqual([]);
    const tooMany = await rawGraphQL(platform().urls.gateway, { query: `{ payments(first: 101) { edges { cursor } } }` }, { authorization: `Bearer ${platformKey()}` });
    expect(tooMany.json.errors?.length).toBeGreaterThan(0);
  });
});

describe('cancelPayment', () => {
  test('cancels an unpaid payment at the PSP and here; idempotent; the page stops taking cards', async () => {
    const created = await createCheckout();
    const key = uniqueId('cancel');
    const canceled = await cancel(created.id, key);
    expect(canceled.userErrors).toEqual([]);
    expect(canceled.payment).toMatchObject({ id: created.id, status: 'CANCELED', checkoutUrl: null });
    expect((await cancel(created.id, key)).replayed).toBe(true);
    const intents = await pspPaymentIntentsOf(created.id);
    expect(intents).toEqual([expect.objectContaining({ status: 'canceled' })]);
    expect((await payOnHostedPage(created.checkoutUrl!, CARDS.success)).status).toBe(409);
    await sleep(500);
    expect((await getPayment(created.id))!.status).toBe('CANCELED');
  });

  test('a paid payment cannot be canceled: INVALID_STATE', async () => {
    const created = await createCheckout();
    await payOnHostedPage(created.checkoutUrl!, CARDS.success);
    await waitForStatus(created.id, 'SUCCEEDED');
    const result = await cancel(created.id);
    expect(result.userErrors[0]).toMatchObject({ code: 'INVALID_STATE' });
    expect((await getPayment(created.id))!.status).toBe('SUCCEEDED');
  });

  test('unknown payment → NOT_FOUND; seller key → FORBIDDEN', async () => {
    expect((await cancel('pay_00000000-0000-0000-0000-000000000000')).userErrors[0]!.code).toBe('NOT_FOUND');
    const created = await createCheckout();
    const result = await cancel(created.id, uniqueId('cancel'), await sellerKey(created.orders[0]!.seller.id));
    expect(result.userErrors[0]!.code).toBe('FORBIDDEN');
  });
});

describe('the webhook endpoint', () => {
  const webhookUrl = () => platform().urls.payments.replace(/\/graphql$/, '/webhooks/stripe');

  async function postWebhook(payload: string, signature: string | null): Promise<number> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (signature !== null) headers['stripe-signature'] = signature;
    const response = await fetch(webhookUrl(), { method: 'POST', headers, body: payload });
    await response.text();
    return response.status;
  }

  test('bad, missing or stale signatures → 400, nothing changes', async () => {
    const created = await createCheckout();
    const payload = JSON.stringify({ id: `evt_${uniqueId('x')}`, object: 'event', type: 'payment_intent.succeeded', created: Math.floor(Date.now() / 1000), data: { object: { id: created.pspPaymentId, object: 'payment_intent', status: 'succeeded' } } });
    const secret = platform().env.STRIPE_WEBHOOK_SECRET ?? 'whsec_dev';
    expect(await postWebhook(payload, null)).toBe(400);
    expect(await postWebhook(payload, await signedWebhook(payload, 'whsec_wrong'))).toBe(400);
    expect(await postWebhook(payload, await signedWebhook(payload, secret, Math.floor(Date.now() / 1000) - 600))).toBe(400);
    expect(await postWebhook(`${payload} `, await signedWebhook(payload, secret))).toBe(400);
    // A correctly signed event is only a hint: the PSP's current state (unpaid) decides.
    expect(await postWebhook(payload, await signedWebhook(payload, secret))).toBe(200);
    const after = await getPayment(created.id);
    expect(after!.status).toBe('REQUIRES_PAYMENT');
  });
});
