// SubgraphHttpClient against a real HTTP server on the loopback interface: what a data source
// sends arrives intact, what the subgraph answers comes back, connections are reused, and every
// failure (refused, too slow, too large) rejects instead of hanging.
import { SubgraphHttpClient, SubgraphRequestError, SubgraphTimeoutError } from './subgraph-http.js';
import { answerJson, closedPort } from './testing/recording-server.js';
import { useSubgraphFixture } from './testing/subgraph-fixture.js';

const fixture = useSubgraphFixture();
const serve = fixture.serve;

test('forwards the method, the headers and the body, and returns the status, headers and JSON body', async () => {
  const server = await serve(answerJson(200, { data: { payment: { id: 'pay_1' } } }, { 'cache-control': 'max-age=30, private' }));
  const requestBody = JSON.stringify({ query: '{ payment(id: "pay_1") { id } }', variables: {} });
  const response = await fixture.client.fetcher(5_000)(`${server.url}?trace=1`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-clearhouse-caller': 'caller-token', 'x-correlation-id': 'corr-1' },
    body: requestBody,
  });

  expect(server.received).toHaveLength(1);
  const [received] = server.received;
  expect(received?.method).toBe('POST');
  expect(received?.url).toBe('/graphql?trace=1');
  expect(received?.headers).toMatchObject({
    'content-type': 'application/json',
    'x-clearhouse-caller': 'caller-token',
    'x-correlation-id': 'corr-1',
    'content-length': String(Buffer.byteLength(requestBody)),
  });
  expect(received?.body).toBe(requestBody);

  expect(response.status).toBe(200);
  expect(response.ok).toBe(true);
  expect(response.statusText).toBe('OK');
  expect(response.url).toBe(`${server.url}?trace=1`);
  expect(response.headers.get('Content-Type')).toBe('application/json; charset=utf-8');
  expect(response.headers.get('cache-control')).toBe('max-age=30, private');
  expect(response.headers.get('x-absent')).toBeNull();
  expect(response.bodyUsed).toBe(false);
  expect(await response.json()).toEqual({ data: { payment: { id: 'pay_1' } } });
  expect(response.bodyUsed).toBe(true);
  // Like fetch: a body is read once.
  await expect(response.text()).rejects.toThrow(TypeError);
});

test('a non-2xx answer is a response (not an error) with its body, as RemoteGraphQLDataSource expects', async () => {
  const server = await serve(answerJson(401, { errors: [{ message: 'unsigned request' }] }));
  const response = await fixture.client.fetcher(5_000)(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
  expect(response.status).toBe(401);
  expect(response.ok).toBe(false);
  expect(response.statusText).toBe('Unauthorized');
  expect(JSON.parse(await response.text())).toEqual({ errors: [{ message: 'unsigned request' }] });
});

test('GET without a body, and a clone reads the same body', async () => {
  const server = await serve((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('ready');
  });
  const response = await fixture.client.fetcher(5_000)(server.url.replace('/graphql', '/readyz'));
  expect(server.received[0]).toMatchObject({ method: 'GET', url: '/readyz', body: '' });
  const copy = response.clone();
  expect(await response.text()).toBe('ready');
  expect(Buffer.from(await copy.arrayBuffer()).toString('utf8')).toBe('ready');
});

test('sequential requests reuse one keep-alive connection, concurrent ones stay within the per-origin bound', async () => {
  const server = await serve(answerJson(200, { data: { ok: true } }));
  const fetcher = fixture.client.fetcher(5_000);
  const requestsSequential = 50;
  for (let index = 0; index < requestsSequential; index += 1) {
    const response = await fetcher(server.url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"index":${index}}` });
    expect(await response.json()).toEqual({ data: { ok: true } });
  }
  expect(server.received).toHaveLength(requestsSequential);
  // undici's pool learns that a connection is free again a tick after its response ended, so a
  // request sent right then opens a second one; from there on the two alternate.
  expect(server.connectionCount()).toBeLessThanOrEqual(2);
  expect(new Set(server.received.map((entry) => entry.remotePort)).size).toBeLessThanOrEqual(2);

  const bounded = new SubgraphHttpClient({ connectionsPerOriginMax: 4 });
  try {
    const boundedFetcher = bounded.fetcher(5_000);
    const responses = await Promise.all(Array.from({ length: 40 }, () => boundedFetcher(server.url, { method: 'POST', body: '{}' })));
    expect(responses.every((response) => response.status === 200)).toBe(true);
    // Two connections from the first client, at most four more from the bounded one.
    expect(server.connectionCount()).toBeLessThanOrEqual(2 + 4);
  } finally {
    await bounded.close();
  }
});

test('a refused connection rejects with a SubgraphRequestError that names the URL and the cause', async () => {
  const url = `http://127.0.0.1:${await closedPort()}/graphql`;
  const attempt = fixture.client.fetcher(5_000)(url, { method: 'POST', body: '{}' });
  await expect(attempt).rejects.toBeInstanceOf(SubgraphRequestError);
  await expect(attempt).rejects.toMatchObject({ code: 'ECONNREFUSED', message: expect.stringContaining(`POST ${url} failed`) });
});

test('a subgraph that does not answer within the deadline rejects with a SubgraphTimeoutError', async () => {
  const server = await serve(() => {
    // Never answers: the request hangs until the client gives up.
  });
  const startedMs = Date.now();
  const attempt = fixture.client.fetcher(200)(server.url, { method: 'POST', body: '{}' });
  await expect(attempt).rejects.toBeInstanceOf(SubgraphTimeoutError);
  await expect(attempt).rejects.toMatchObject({ code: 'ETIMEDOUT', message: expect.stringContaining('within 200 ms') });
  const elapsedMs = Date.now() - startedMs;
  expect(elapsedMs).toBeGreaterThanOrEqual(190);
  expect(elapsedMs).toBeLessThan(2_000);
});

test('the deadline covers the body: headers on time, then a stalled body still rejects', async () => {
  const server = await serve((_request, response) => {
    response.writeHead(200, { 'content-type': 'application/json' });
    response.write('{"data":');
  });
  await expect(fixture.client.fetcher(200)(server.url, { method: 'POST', body: '{}' })).rejects.toBeInstanceOf(SubgraphTimeoutError);
});

test("the caller's abort signal cuts a request short", async () => {
  const server = await serve(() => {});
  const controller = new AbortController();
  const attempt = fixture.client.fetcher(5_000)(server.url, { method: 'POST', body: '{}', signal: controller.signal });
  setTimeout(() => controller.abort(), 50);
  await expect(attempt).rejects.toMatchObject({ name: 'SubgraphRequestError', code: 'ABORT_ERR' });
});

test('a response larger than the bound rejects', async () => {
  const server = await serve(answerJson(200, { data: 'x'.repeat(4_096) }));
  const small = new SubgraphHttpClient({ responseBytesMax: 1_024 });
  try {
    await expect(small.fetcher(5_000)(server.url, { method: 'POST', body: '{}' })).rejects.toMatchObject({ code: 'UND_ERR_RES_EXCEEDED_MAX_SIZE' });
  } finally {
    await small.close();
  }
});

test('close() waits for an in-flight request, then the client refuses new ones', async () => {
  const server = await serve((request, response) => {
    setTimeout(() => answerJson(200, { data: { late: true } })(request, response), 100);
  });
  const fetcher = fixture.client.fetcher(5_000);
  const inFlight = fetcher(server.url, { method: 'POST', body: '{}' });
  await new Promise((resolve) => setTimeout(resolve, 20));
  await fixture.client.close();
  expect(await (await inFlight).json()).toEqual({ data: { late: true } });
  await expect(fetcher(server.url, { method: 'POST', body: '{}' })).rejects.toBeInstanceOf(SubgraphRequestError);
});

test('timeouts out of bounds are refused when the fetcher is made', () => {
  expect(() => fixture.client.fetcher(0)).toThrow(/timeoutMs/);
  expect(() => fixture.client.fetcher(1.5)).toThrow(/timeoutMs/);
});
