import { SIGNATURE_HEADER, signCaller, verifyCaller } from './index';

const secret = 'test-secret-at-least-16';
const caller = { role: 'platform' as const, keyId: 'k1', sellerId: null };
const request = { method: 'POST', url: '/graphql', body: '{"query":"{ __typename }"}' };
const received = (headers: Record<string, string>) => ({ method: request.method, url: request.url, headers });

test('a signature header with anything besides the exact 64 lower-case hex digits is refused', () => {
  const headers = signCaller(caller, secret, request, 1_000);
  const signature = headers[SIGNATURE_HEADER] ?? '';
  expect(verifyCaller(received(headers), request.body, secret, 1_500)).toEqual(caller);
  // Node's hex decoding stops at the first non-hex character and drops a trailing odd digit, so
  // each of these decoded to the genuine digest and was accepted.
  for (const tampered of [`${signature}zz`, `${signature}0`, `${signature}-forged`, `${signature} `, signature.toUpperCase()]) {
    expect({ tampered, caller: verifyCaller(received({ ...headers, [SIGNATURE_HEADER]: tampered }), request.body, secret, 1_500) }).toEqual({ tampered, caller: null });
  }
});
