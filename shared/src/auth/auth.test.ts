import { canAccessSeller, generateApiKeySecret, hashApiKey, parseBearer, signCaller, verifyCaller } from './index';

const secret = 'test-secret-at-least-16';

describe('signed caller headers', () => {
  const caller = { role: 'seller' as const, keyId: 'k1', sellerId: 's_1' };
  const body = '{"query":"{ orders { id } }"}';
  const request = { method: 'POST', url: 'http://127.0.0.1:4001/graphql', body };
  /** As the subgraph receives it: the request target, not the absolute URL. */
  const received = (headers: Record<string, string>, overrides: { method?: string; url?: string } = {}) => ({ method: 'POST', url: '/graphql', headers, ...overrides });

  test('round-trips a caller', () => {
    const headers = signCaller(caller, secret, request, 1_000);
    expect(verifyCaller(received(headers), body, secret, 1_500)).toEqual(caller);
    expect(verifyCaller(received(headers), Buffer.from(body, 'utf8'), secret, 1_500)).toEqual(caller);
  });

  test('refuses a tampered, wrongly signed or expired caller', () => {
    const headers = signCaller(caller, secret, request, 1_000, 100);
    const forged = { ...headers, 'x-clearhouse-caller': Buffer.from(JSON.stringify({ role: 'platform', keyId: 'k1', sellerId: null, expiresAtMs: 9e15 })).toString('base64url') };
    expect(verifyCaller(received(forged), body, secret, 1_050)).toBeNull();
    expect(verifyCaller(received(headers), body, 'another-secret-of-16', 1_050)).toBeNull();
    expect(verifyCaller(received(headers), body, secret, 1_101)).toBeNull();
    expect(verifyCaller(received({}), body, secret, 1_050)).toBeNull();
  });

  test('binds the method, the path and query, and the body it was signed with', () => {
    const headers = signCaller(caller, secret, request, 1_000);
    expect(verifyCaller(received(headers), `${body} `, secret, 1_050)).toBeNull();
    expect(verifyCaller(received(headers), '{"query":"mutation { requestPayout { id } }"}', secret, 1_050)).toBeNull();
    expect(verifyCaller(received(headers), '', secret, 1_050)).toBeNull();
    expect(verifyCaller(received(headers, { method: 'GET' }), body, secret, 1_050)).toBeNull();
    expect(verifyCaller(received(headers, { url: '/internal/reservations' }), body, secret, 1_050)).toBeNull();
    expect(verifyCaller(received(headers, { url: '/graphql?query=%7B__typename%7D' }), body, secret, 1_050)).toBeNull();
    expect(verifyCaller({ headers }, body, secret, 1_050)).toBeNull();

    const get = signCaller(caller, secret, { method: 'GET', url: 'http://wallet:4003/internal/balances?limit=10', body: '' }, 1_000);
    expect(verifyCaller(received(get, { method: 'GET', url: '/internal/balances?limit=10' }), '', secret, 1_050)).toEqual(caller);
    expect(verifyCaller(received(get, { method: 'GET', url: '/internal/balances?limit=500' }), '', secret, 1_050)).toBeNull();
  });

  test('seller isolation', () => {
    expect(canAccessSeller(caller, 's_1')).toBe(true);
    expect(canAccessSeller(caller, 's_2')).toBe(false);
    expect(canAccessSeller({ role: 'platform', keyId: 'p', sellerId: null }, 's_2')).toBe(true);
  });
});

test('api key secrets are random and hashed deterministically', () => {
  const a = generateApiKeySecret('seller');
  const b = generateApiKeySecret('seller');
  expect(a).not.toEqual(b);
  expect(a.startsWith('ch_seller_')).toBe(true);
  expect(hashApiKey(a)).toEqual(hashApiKey(a));
  expect(hashApiKey(a)).toMatch(/^[0-9a-f]{64}$/);
  expect(parseBearer(`Bearer ${a}`)).toEqual(a);
  expect(parseBearer('Basic abc')).toBeNull();
  expect(parseBearer(undefined)).toBeNull();
});
