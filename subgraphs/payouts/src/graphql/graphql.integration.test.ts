// The payouts GraphQL edge over HTTP with the gateway's signed caller headers: requestPayout,
// payout(id), Payout entity references and Seller.payouts pagination with seller isolation.
import { randomBytes } from 'node:crypto';
import { signCaller, type Caller } from '@clearhouse/shared';
import { startHarness, type Harness } from '../testing/harness.test-support.js';

jest.setTimeout(60_000);

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };

async function gql<T = Record<string, unknown>>(caller: Caller, query: string, variables: Record<string, unknown> = {}): Promise<{ data: T; errors?: { message: string; extensions?: { code?: string } }[] }> {
  const url = `${h.service.http.url}/graphql`;
  const body = JSON.stringify({ query, variables });
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...signCaller(caller, h.signingSecret, { method: 'POST', url, body }) }, body });
  return (await response.json()) as { data: T; errors?: { message: string; extensions?: { code?: string } }[] };
}

const REQUEST = `mutation($input: RequestPayoutInput!) {
  requestPayout(input: $input) { replayed userErrors { code field message } payout { id status amount { amountMinor currency amount } seller { id } pspPayoutId failureCode createdAt paidAt } }
}`;

const SELLER_PAYOUTS = `query($id: ID!, $first: Int, $after: String) {
  _entities(representations: [{ __typename: "Seller", id: $id }]) { ... on Seller { id payouts(first: $first, after: $after) { edges { cursor node { id amount { amountMinor } } } pageInfo { hasNextPage endCursor } } } }
}`;

interface PayoutsPage {
  _entities: { payouts: { edges: { cursor: string; node: { id: string; amount: { amountMinor: string } } }[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } } }[];
}

it('requests, reads and pages payouts; a seller sees only its own', async () => {
  const sellerId = `gql${randomBytes(4).toString('hex')}`;
  await h.wallet.credit(sellerId, 'USD', 10_000n);
  const ids: string[] = [];
  for (const amountMinor of ['1000', '1100', '1200']) {
    const result = await gql<{ requestPayout: { replayed: boolean; userErrors: unknown[]; payout: { id: string; status: string; amount: { amountMinor: string; amount: string }; seller: { id: string } } } }>(platform, REQUEST, {
      input: { idempotencyKey: `k_${randomBytes(6).toString('hex')}`, sellerId, currency: 'USD', amountMinor },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data.requestPayout).toMatchObject({ replayed: false, userErrors: [], payout: { status: 'PENDING', amount: { amountMinor, currency: 'USD' }, seller: { id: sellerId } } });
    ids.push(result.data.requestPayout.payout.id);
  }

  const refused = await gql<{ requestPayout: { payout: null; userErrors: { code: string; field: string[] }[] } }>(platform, REQUEST, {
    input: { idempotencyKey: 'k_too_much', sellerId, currency: 'USD', amountMinor: '100000' },
  });
  expect(refused.data.requestPayout).toMatchObject({ payout: null, userErrors: [{ code: 'INSUFFICIENT_FUNDS', field: ['input', 'amountMinor'] }] });
  const forbidden = await gql<{ requestPayout: { userErrors: { code: string }[] } }>({ role: 'seller', keyId: 'k_other', sellerId: 'other' }, REQUEST, {
    input: { idempotencyKey: 'k_forbidden', sellerId, currency: 'USD', amountMinor: '100' },
  });
  expect(forbidden.data.requestPayout.userErrors).toEqual([expect.objectContaining({ code: 'FORBIDDEN' })]);

  // Newest first, two per page.
  const self: Caller = { role: 'seller', keyId: 'k_self', sellerId };
  const first = await gql<PayoutsPage>(self, SELLER_PAYOUTS, { id: sellerId, first: 2 });
  const page1 = first.data._entities[0]?.payouts;
  expect(page1?.edges.map((edge) => edge.node.id)).toEqual([ids[2], ids[1]]);
  expect(page1?.pageInfo.hasNextPage).toBe(true);
  const second = await gql<PayoutsPage>(self, SELLER_PAYOUTS, { id: sellerId, first: 2, after: page1?.pageInfo.endCursor });
  expect(second.data._entities[0]?.payouts.edges.map((edge) => edge.node.id)).toEqual([ids[0]]);
  expect(second.data._entities[0]?.payouts.pageInfo).toEqual({ hasNextPage: false, endCursor: second.data._entities[0]?.payouts.edges[0]?.cursor });

  const stranger: Caller = { role: 'seller', keyId: 'k_stranger', sellerId: 'stranger' };
  const denied = await gql<PayoutsPage>(stranger, SELLER_PAYOUTS, { id: sellerId, first: 2 });
  expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

  const byId = `query($id: ID!) { payout(id: $id) { id status amount { amountMinor } seller { id } } }`;
  expect((await gql<{ payout: { id: string } | null }>(self, byId, { id: ids[0] })).data.payout).toMatchObject({ id: ids[0], seller: { id: sellerId } });
  expect((await gql<{ payout: null }>(stranger, byId, { id: ids[0] })).data.payout).toBeNull();
  const reference = `query($id: ID!) { _entities(representations: [{ __typename: "Payout", id: $id }]) { ... on Payout { id status } } }`;
  expect((await gql<{ _entities: unknown[] }>(platform, reference, { id: ids[1] })).data._entities).toEqual([expect.objectContaining({ id: ids[1] })]);
});
