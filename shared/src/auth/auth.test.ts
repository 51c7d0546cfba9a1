import { CALLER_HEADER, ReplayGuard, SIGNATURE_HEADER, callerSignature, canAccessSeller, generateApiKeySecret, hashApiKey, parseBearer, signCaller, verifyCaller } from './index';

const secret = 'test-secret-at-least-16';

describe('signed caller headers', () => {
  const caller = { role: 'seller' as const, keyId: 'k1', sellerId: 's_1' };
  const body = '{"query":"{ orders { id } }"}';
  const request = { method: 'POST', url: 'http://127.0.0.1:4001/graphql', body };
  /** As the subgraph receives it: the request target, not the absolute URL. */
  const received = (headers: Record<string, string>, overrides: { method?: string; url?: string } = {}) => ({ method: 'POST', url: '/graphql', headers, ...overrides });

  test('round-trips a caller', () => {
    expect(verifyCaller(received(signCaller(caller, secret, request, 1_000)), body, secret, 1_500)).toEqual(caller);
    expect(verifyCaller(received(signCaller(caller, secret, request, 1_000)), Buffer.from(body, 'utf8'), secret, 1_500)).toEqual(caller);
  });

  test('accepts a signed request once: the same headers sent again within their lifetime are a replay', () => {
    const guard = new ReplayGuard();
    const headers = signCaller(caller, secret, request, 1_000);
    expect(verifyCaller(received(headers), body, secret, 1_500, guard)).toEqual(caller);
    expect(verifyCaller(received(headers), body, secret, 1_600, guard)).toBeNull();
    expect(verifyCaller(received(headers), body, secret, 60_000, guard)).toBeNull();
    // The same caller, request and instant signed again is a new request.
    expect(verifyCaller(received(signCaller(caller, secret, request, 1_000)), body, secret, 1_600, guard)).toEqual(caller);
    expect(guard.size).toBe(2);
  });

  test('the process-wide guard refuses a replay when no guard is given', () => {
    const headers = signCaller(caller, secret, request, Date.now());
    expect(verifyCaller(received(headers), body, secret)).toEqual(caller);
    expect(verifyCaller(received(headers), body, secret)).toBeNull();
  });

  test('refuses a validly signed caller without a well-formed nonce', () => {
    const guard = new ReplayGuard();
    for (const nonce of [undefined, 42, '', 'x'.repeat(200), 'not a nonce']) {
      const encoded = Buffer.from(JSON.stringify({ role: 'seller', keyId: 'k1', sellerId: 's_1', expiresAtMs: 9e15, ...(nonce === undefined ? {} : { nonce }) })).toString('base64url');
      const headers = { [CALLER_HEADER]: encoded, [SIGNATURE_HEADER]: callerSignature(encoded, secret, request) };
      expect({ nonce, caller: verifyCaller(received(headers), body, secret, 1_500, guard) }).toEqual({ nonce, caller: null });
    }
    expect(guard.size).toBe(0);
  });

  test('forged or expired callers take no place in the guard, and expired nonces are swept', () => {
    const guard = new ReplayGuard(1_000);
    const headers = signCaller(caller, secret, request, 1_000, 100);
    expect(verifyCaller(received(headers), body, 'another-secret-of-16', 1_050, guard)).toBeNull();
    expect(verifyCaller(received(headers), body, secret, 1_200, guard)).toBeNull();
    expect(guard.size).toBe(0);
    expect(verifyCaller(received(signCaller(caller, secret, request, 1_000, 100)), body, secret, 1_050, guard)).toEqual(caller);
    expect(verifyCaller(received(signCaller(caller, secret, request, 1_000, 60_000)), body, secret, 1_050, guard)).toEqual(caller);
    expect(guard.size).toBe(2);
    // The next offer after the sweep interval drops the nonce that expired at 1_100, keeps the other.
    expect(verifyCaller(received(signCaller(caller, secret, request, 3_000)), body, secret, 3_000, guard)).toEqual(caller);
    expect(guard.size).toBe(2);
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
