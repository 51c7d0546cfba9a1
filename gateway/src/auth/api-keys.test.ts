// ApiKeyResolver over the gateway's SubgraphHttpClient, against a real HTTP server standing in
// for the payments subgraph's internal route.
import { hashApiKey, verifyCaller } from '@clearhouse/shared';
import { answerJson } from '../testing/recording-server.js';
import { useSubgraphFixture } from '../testing/subgraph-fixture.js';
import { ApiKeyResolver } from './api-keys.js';

const SIGNING_SECRET = 'api-keys-test-secret';

const fixture = useSubgraphFixture();

test('looks a key up by its hash, signed as the gateway, and caches the answer', async () => {
  const server = await fixture.serve((request, response) => {
    const { keyHash } = JSON.parse(request.body) as { keyHash: string };
    if (keyHash === hashApiKey('ch_seller_known')) answerJson(200, { keyId: 'key_7', role: 'seller', sellerId: 'sel_7' })(request, response);
    else answerJson(404, { error: 'unknown key' })(request, response);
  });
  const keys = new ApiKeyResolver({ paymentsBaseUrl: `${server.origin}/graphql`, signingSecret: SIGNING_SECRET, cacheTtlMs: 60_000, http: fixture.client });

  expect(await keys.resolve('ch_seller_known')).toEqual({ keyId: 'key_7', role: 'seller', sellerId: 'sel_7' });
  expect(await keys.resolve('ch_seller_known')).toEqual({ keyId: 'key_7', role: 'seller', sellerId: 'sel_7' });
  expect(await keys.resolve('ch_seller_unknown')).toBeNull();

  expect(server.received).toHaveLength(2);
  const [lookup] = server.received;
  expect(lookup).toMatchObject({ method: 'POST', url: '/internal/api-keys/resolve' });
  expect(JSON.parse(lookup?.body ?? '')).toEqual({ keyHash: hashApiKey('ch_seller_known') });
  expect(lookup && verifyCaller(lookup, lookup.body, SIGNING_SECRET)).toEqual({ role: 'system', keyId: 'gateway', sellerId: null });
});

test('a failing lookup is an error, not an unknown key', async () => {
  const server = await fixture.serve(answerJson(500, { error: 'internal error' }));
  const keys = new ApiKeyResolver({ paymentsBaseUrl: server.origin, signingSecret: SIGNING_SECRET, cacheTtlMs: 60_000, http: fixture.client });
  await expect(keys.resolve('ch_seller_any')).rejects.toThrow('API key lookup failed with HTTP 500');
});
