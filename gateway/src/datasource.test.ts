// SignedSubgraphDataSource with the gateway's SubgraphHttpClient, against a real HTTP server:
// Apollo's request pipeline (headers, JSON body, response parsing, error mapping) runs unchanged
// on top of the undici fetcher, and the caller arrives signed.
import type { GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { GraphQLError } from 'graphql';
import { CORRELATION_HEADER, createLogger, verifyCaller, type Caller } from '@clearhouse/shared';
import type { GatewayContext } from './context.js';
import { SignedSubgraphDataSource } from './datasource.js';
import { SubgraphRequestError } from './subgraph-http.js';
import { answerJson, closedPort } from './testing/recording-server.js';
import { useSubgraphFixture } from './testing/subgraph-fixture.js';

const SIGNING_SECRET = 'datasource-test-secret';
const caller: Caller = { role: 'seller', keyId: 'key_1', sellerId: 'sel_1' };

const fixture = useSubgraphFixture();

function processOptions(query: string, variables: Record<string, unknown> = {}): GraphQLDataSourceProcessOptions<GatewayContext> {
  const context: GatewayContext = { caller, correlationId: 'corr-42', logger: createLogger({ service: 'gateway-test', level: 'silent' }) };
  // A health-check kind carries only what willSendRequest reads (the context), not a whole incoming
  // request. @apollo/gateway exports the kinds' enum as a type only, hence its value spelled out.
  return { kind: 'health check', request: { query, variables }, context } as unknown as GraphQLDataSourceProcessOptions<GatewayContext>;
}

test('sends the query as JSON with the caller signed and the correlation id, and returns the parsed response', async () => {
  const server = await fixture.serve(answerJson(200, { data: { payment: { id: 'pay_1', status: 'SUCCEEDED' } } }));
  const source = new SignedSubgraphDataSource(`${server.origin}/graphql`, SIGNING_SECRET, fixture.client.fetcher(5_000));
  const response = await source.process(processOptions('query ($id: ID!) { payment(id: $id) { id status } }', { id: 'pay_1' }));

  expect(response.data).toEqual({ payment: { id: 'pay_1', status: 'SUCCEEDED' } });
  const [received] = server.received;
  expect(received).toMatchObject({ method: 'POST', url: '/graphql' });
  expect(received?.headers['content-type']).toBe('application/json');
  expect(received?.headers[CORRELATION_HEADER]).toBe('corr-42');
  expect(received && verifyCaller(received, received.body, SIGNING_SECRET)).toEqual(caller);
  expect(JSON.parse(received?.body ?? '')).toEqual({ query: 'query ($id: ID!) { payment(id: $id) { id status } }', variables: { id: 'pay_1' } });
});

test('a subgraph error status becomes the GraphQLError Apollo makes of it, with the body attached', async () => {
  const server = await fixture.serve(answerJson(403, { errors: [{ message: 'forbidden' }] }));
  const source = new SignedSubgraphDataSource(`${server.origin}/graphql`, SIGNING_SECRET, fixture.client.fetcher(5_000));
  const attempt = source.process(processOptions('{ __typename }'));
  await expect(attempt).rejects.toBeInstanceOf(GraphQLError);
  await expect(attempt).rejects.toMatchObject({
    message: '403: Forbidden',
    extensions: { code: 'FORBIDDEN', response: { status: 403, body: { errors: [{ message: 'forbidden' }] } } },
  });
});

test('an unreachable subgraph rejects the operation with the network error', async () => {
  const url = `http://127.0.0.1:${await closedPort()}/graphql`;
  const source = new SignedSubgraphDataSource(url, SIGNING_SECRET, fixture.client.fetcher(5_000));
  await expect(source.process(processOptions('{ __typename }'))).rejects.toBeInstanceOf(SubgraphRequestError);
});
