import { canAccessSeller, generateApiKeySecret, hashApiKey, parseBearer, signCaller, verifyCaller } from './index';

const secret = 'test-secret-at-least-16';

describe('signed caller headers', () => {
  const caller = { role: 'seller' as const, keyId: 'k1', sellerId: 's_1' };

  test('round-trips a caller', () => {
    const headers = signCaller(caller, secret, 1_000);
    expect(verifyCaller(headers, secret, 1_500)).toEqual(caller);
  });

  test('refuses a tampered, wrongly signed or expired caller', () => {
    const headers = signCaller(caller, secret, 1_000, 100);
    const forged = { ...headers, 'x-clearhouse-caller': Buffer.from(JSON.stringify({ role: 'platform', keyId: 'k1', sellerId: null, expiresAtMs: 9e15 })).toString('base64url') };
    expect(verifyCaller(forged, secret, 1_050)).toBeNull();
    expect(verifyCaller(headers, 'another-secret-of-16', 1_050)).toBeNull();
    expect(verifyCaller(headers, secret, 1_101)).toBeNull();
    expect(verifyCaller({}, secret, 1_050)).toBeNull();
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
