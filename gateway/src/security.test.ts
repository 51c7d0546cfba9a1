// The gateway's edge as a client meets it: the real gateway (startGateway, real RabbitMQ for the
// subscription feed) in front of stand-in subgraphs on the loopback interface that answer from a
// tiny schema. Rate limits, error hygiene and the rules for graphql-ws in production.
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { buildSchema, execute, parse, type ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { ConfirmPublisher, createLogger, encodeEnvelope, eventProperties, eventsExchangeName, hashApiKey, newEvent, serializeEventPayload, verifyCaller } from '@clearhouse/shared';
import { createTestBroker, freePort, type TestBroker } from '@clearhouse/shared/testkit';
import { parseGatewayEnv } from './env.js';
import { startGateway, type RunningGateway } from './server.js';
import { answerJson, startRecordingServer, type RecordingServer } from './testing/recording-server.js';

const SIGNING_SECRET = 'security-test-signing-secret';
const RATE_LIMIT_PER_SECOND = 5;
const AUTH_FAILURE_LIMIT_PER_MINUTE = 4;

/** What the stand-in subgraphs know: enough for `payment` and `seller` root fields. */
const standInSchema = buildSchema(`
  type Payment { id: ID! status: String! }
  type Seller { id: ID! }
  type Query { payment(id: ID!): Payment seller(id: ID!): Seller }
`);

/** Any `Bearer k_<name>` is a platform key whose keyId is <name>: each test spends its own rate-limit budget. */
function keyIdOf(keyHash: string, known: Map<string, string>): string | undefined {
  return known.get(keyHash);
}

const knownKeys = new Map<string, string>();
const revokedKeys = new Set<string>();
function key(name: string): string {
  const secret = `k_${name}`;
  knownKeys.set(hashApiKey(secret), name);
  return secret;
}

interface StandIn {
  readonly server: RecordingServer;
  /** GraphQL requests (not key lookups) it answered. */
  graphqlRequests(): number;
}

async function startStandIn(): Promise<StandIn> {
  const server = await startRecordingServer((request, response) => {
    if (request.url === '/internal/api-keys/resolve') {
      const keyId = keyIdOf((JSON.parse(request.body) as { keyHash: string }).keyHash, knownKeys);
      if (!keyId || revokedKeys.has(keyId)) return answerJson(404, { error: 'no active key' })(request, response);
      return answerJson(200, { keyId, role: 'platform', sellerId: null })(request, response);
    }
    if (!verifyCaller(request, request.body, SIGNING_SECRET)) {
      return answerJson(401, { errors: [{ message: 'requests to subgraphs must come through the gateway', extensions: { code: 'UNAUTHENTICATED' } }] })(request, response);
    }
    const { query, variables } = JSON.parse(request.body) as { query: string; variables?: Record<string, unknown> };
    if (request.body.includes('pay_signature_refused')) {
      return answerJson(401, { errors: [{ message: 'requests to subgraphs must come through the gateway (missing or invalid caller signature)', extensions: { code: 'UNAUTHENTICATED' } }] })(request, response);
    }
    if (request.body.includes('pay_forbidden_with_trace')) {
      return answerJson(200, {
        data: { payment: null },
        errors: [{ message: 'a seller key may only read its own payments', path: ['payment'], extensions: { code: 'FORBIDDEN', stacktrace: ['Error: a seller key may only read its own payments', '    at loadVisiblePayment (/srv/clearhouse/subgraphs/payments/dist/graphql/resolvers/payments.js:15:11)'] } }],
      })(request, response);
    }
    const rootValue = { payment: ({ id }: { id: string }) => ({ id, status: 'PROCESSING' }), seller: ({ id }: { id: string }) => ({ id }) };
    const result = execute({ schema: standInSchema, document: parse(query), variableValues: variables, rootValue }) as ExecutionResult;
    return answerJson(200, result)(request, response);
  });
  return { server, graphqlRequests: () => server.received.filter((r) => r.url === '/graphql').length };
}

let broker: TestBroker;
let publisher: ConfirmPublisher;
let standIns: StandIn[] = [];
let gateway: RunningGateway;

beforeAll(async () => {
  broker = await createTestBroker();
  publisher = new ConfirmPublisher(broker.connection);
  standIns = await Promise.all([0, 1, 2, 3].map(() => startStandIn()));
  const [payments, ledger, wallet, payouts] = standIns.map((s) => `${s.server.origin}/graphql`);
  const env = parseGatewayEnv({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(await freePort()),
    AMQP_URL: broker.amqpUrl,
    BROKER_PREFIX: broker.prefix,
    INTERNAL_SIGNING_SECRET: SIGNING_SECRET,
    PAYMENTS_URL: payments,
    LEDGER_URL: ledger,
    WALLET_URL: wallet,
    PAYOUTS_URL: payouts,
    RATE_LIMIT_PER_SECOND: String(RATE_LIMIT_PER_SECOND),
    // Every request looks its key up: a revocation takes effect at once.
    AUTH_CACHE_TTL_MS: '0',
    AUTH_FAILURE_LIMIT_PER_MINUTE: String(AUTH_FAILURE_LIMIT_PER_MINUTE),
  });
  gateway = await startGateway(env, createLogger({ service: 'gateway-test', level: 'silent' }));
});

afterAll(async () => {
  for (const part of [...(gateway?.parts ?? [])].reverse()) await part.stop();
  await Promise.all(standIns.map((s) => s.server.close()));
  await publisher?.close();
  await broker?.cleanup();
});

async function publishStatusChanged(paymentId: string): Promise<void> {
  const payload = serializeEventPayload('payment.status_changed@1', { paymentId, from: 'PROCESSING', to: 'SUCCEEDED', at: new Date(), currency: 'USD', refundedAmountMinor: 0n, sellerIds: ['s1'] });
  const event = newEvent('payment.status_changed', 1, paymentId, payload);
  await publisher.publish({ exchange: eventsExchangeName(broker.prefix), routingKey: event.type, ...eventProperties(event) }, encodeEnvelope(event));
}

interface WireError {
  message: string;
  extensions?: Record<string, unknown>;
}

interface WireResult {
  data?: unknown;
  errors?: WireError[];
}

async function post(apiKey: string, body: unknown): Promise<{ status: number; json: WireResult }> {
  const response = await fetch(`${gateway.http.url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${apiKey}` },
    body: JSON.stringify(body),
  });
  return { status: response.status, json: (await response.json()) as WireResult };
}

/** As post(), from another loopback address (the whole of 127.0.0.0/8 is this machine): another client. */
function postFrom(localAddress: string, apiKey: string, body: unknown): Promise<{ status: number; json: WireResult }> {
  const text = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      `${gateway.http.url}/graphql`,
      { method: 'POST', localAddress, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), authorization: `Bearer ${apiKey}` } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, json: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WireResult }));
        response.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(text);
  });
}

/** The close code a graphql-ws connection from `localAddress` gets after its connection_init. */
function connectionInitCloseCode(localAddress: string, apiKey: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(`${gateway.http.url.replace('http://', 'ws://')}/graphql`, 'graphql-transport-ws', { localAddress });
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error('the connection was not closed within 5 s'));
    }, 5_000);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${apiKey}` } })));
    socket.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    socket.on('error', reject);
  });
}

function wsClient(apiKey: string): Client {
  return createClient({
    url: `${gateway.http.url.replace('http://', 'ws://')}/graphql`,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${apiKey}` },
    retryAttempts: 0,
    lazy: true,
  });
}

/** The first message (or the error) an operation over graphql-ws gets; stops the operation after it. */
function firstResult(client: Client, query: string, timeoutMs = 5_000): Promise<WireResult> {
  return new Promise((resolve) => {
    let stop: () => void = () => undefined;
    const timer = setTimeout(() => resolve({ errors: [{ message: `no answer within ${timeoutMs} ms` }] }), timeoutMs);
    stop = client.subscribe(
      { query },
      {
        next: (value) => {
          clearTimeout(timer);
          resolve(value as WireResult);
          stop();
        },
        error: (error) => {
          clearTimeout(timer);
          resolve({ errors: Array.isArray(error) ? (error as WireError[]) : [{ message: String((error as { reason?: string }).reason ?? error) }] });
        },
        complete: () => {
          clearTimeout(timer);
          resolve({ errors: [{ message: 'completed without a result' }] });
        },
      },
    );
  });
}

describe('rate limits per key', () => {
  test('a key over its limit gets RATE_LIMITED with HTTP 429, not an internal error', async () => {
    const apiKey = key('http_limit');
    // All at once, so that they fall into one second of the limiter however slow the machine is
    // (sent one after the other, they could straddle two seconds and all pass).
    const results = await Promise.all(Array.from({ length: RATE_LIMIT_PER_SECOND + 2 }, () => post(apiKey, { query: '{ payment(id: "pay_1") { id status } }' })));
    const passed = results.filter((r) => r.status === 200);
    const limited = results.filter((r) => r.status === 429);
    expect(passed.length + limited.length).toBe(results.length);
    expect(passed.length).toBeGreaterThanOrEqual(1);
    expect(passed.length).toBeLessThanOrEqual(RATE_LIMIT_PER_SECOND);
    expect(limited.length).toBeGreaterThanOrEqual(2);
    for (const refused of limited) {
      expect(refused.json.data ?? null).toBeNull();
      expect(refused.json.errors?.[0]?.extensions?.code).toBe('RATE_LIMITED');
    }
  });

  test('subscriptions over graphql-ws count against the same per-key limit', async () => {
    const apiKey = key('ws_limit');
    const client = wsClient(apiKey);
    try {
      const before = standIns[0]!.graphqlRequests();
      const attempts = RATE_LIMIT_PER_SECOND * 4;
      const results = await Promise.all(Array.from({ length: attempts }, () => firstResult(client, 'subscription { paymentUpdated(paymentId: "pay_1") { id status } }', 1_000)));
      const limited = results.filter((r) => JSON.stringify(r.errors ?? []).includes('RATE_LIMITED'));
      expect(limited.length).toBeGreaterThanOrEqual(attempts - RATE_LIMIT_PER_SECOND);
      // Refused subscriptions cost the subgraphs nothing.
      expect(standIns[0]!.graphqlRequests() - before).toBeLessThanOrEqual(RATE_LIMIT_PER_SECOND);
    } finally {
      await client.dispose();
    }
  });
});

describe('failed authentications per client address', () => {
  test('an address that keeps sending unknown keys gets RATE_LIMITED and causes no more lookups; another address is unaffected', async () => {
    const guesses = Array.from({ length: AUTH_FAILURE_LIMIT_PER_MINUTE + 4 }, () => `k_guess_${randomBytes(12).toString('hex')}`);
    const guessed = new Set(guesses.map((guess) => hashApiKey(guess)));
    /** Lookups of these guesses (other tests' connections may still be looking their own keys up). */
    const lookups = () => standIns[0]!.server.received.filter((r) => r.url === '/internal/api-keys/resolve' && guessed.has((JSON.parse(r.body) as { keyHash: string }).keyHash)).length;
    const query = { query: '{ payment(id: "pay_1") { id status } }' };
    const results = [];
    for (const guess of guesses.slice(0, AUTH_FAILURE_LIMIT_PER_MINUTE + 3)) results.push(await postFrom('127.0.0.3', guess, query));

    expect(results.slice(0, AUTH_FAILURE_LIMIT_PER_MINUTE).map((r) => [r.status, r.json.errors?.[0]?.extensions?.code])).toEqual(Array(AUTH_FAILURE_LIMIT_PER_MINUTE).fill([401, 'UNAUTHENTICATED']));
    expect(results.slice(AUTH_FAILURE_LIMIT_PER_MINUTE).map((r) => [r.status, r.json.data ?? null, r.json.errors?.[0]?.extensions?.code])).toEqual(Array(3).fill([429, null, 'RATE_LIMITED']));
    // Only the failures within the limit were looked up.
    expect(lookups()).toBe(AUTH_FAILURE_LIMIT_PER_MINUTE);
    // The same budget holds for graphql-ws: the address is refused at connection_init, unlooked-up.
    expect(await connectionInitCloseCode('127.0.0.3', guesses.at(-1)!)).toBe(4429);
    expect(lookups()).toBe(AUTH_FAILURE_LIMIT_PER_MINUTE);

    const other = await postFrom('127.0.0.2', key('other_address'), query);
    expect(other.status).toBe(200);
    expect(other.json).toEqual({ data: { payment: { id: 'pay_1', status: 'PROCESSING' } } });
  });
});

describe('errors never leak internals', () => {
  test("a subgraph's stack trace does not reach the client", async () => {
    const { json } = await post(key('trace'), { query: '{ payment(id: "pay_forbidden_with_trace") { id } }' });
    expect(json.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(JSON.stringify(json)).not.toMatch(/stacktrace|\/srv\/clearhouse|loadVisiblePayment/);
  });

  test('a subgraph refusing the gateway is an internal error to the client, without the subgraph URL or its response', async () => {
    const { json } = await post(key('refused'), { query: '{ payment(id: "pay_signature_refused") { id } }' });
    expect(json.data).toEqual({ payment: null });
    expect(json.errors?.[0]?.extensions).toEqual({ code: 'INTERNAL_SERVER_ERROR' });
    const text = JSON.stringify(json);
    expect(text).not.toContain(standIns[0]!.server.origin);
    expect(text).not.toContain('caller signature');
  });
});

describe('errors over graphql-ws', () => {
  test("a subscription the subgraph refuses gets the subgraph's error, cleaned, and the connection stays open", async () => {
    const client = wsClient(key('ws_refused'));
    let closes = 0;
    client.on('closed', () => (closes += 1));
    try {
      const refused = await firstResult(client, 'subscription { paymentUpdated(paymentId: "pay_forbidden_with_trace") { id } }');
      expect(refused.data ?? null).toBeNull();
      expect(refused.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
      expect(JSON.stringify(refused)).not.toMatch(/stacktrace|\/srv\/clearhouse/);
      expect(closes).toBe(0);
    } finally {
      await client.dispose();
    }
  });
});

describe('revoked keys over graphql-ws', () => {
  test('revoking a key ends its open subscriptions: no update reaches it afterwards', async () => {
    const apiKey = key('ws_revoked');
    const client = wsClient(apiKey);
    const values: unknown[] = [];
    const failures: unknown[] = [];
    client.subscribe(
      { query: 'subscription { paymentUpdated(paymentId: "pay_revoked") { id status } }' },
      { next: (value) => (value.data ? values.push(value.data) : failures.push(value.errors)), error: (error) => failures.push(error), complete: () => undefined },
    );
    try {
      for (let attempt = 0; attempt < 50 && values.length === 0; attempt += 1) {
        await publishStatusChanged('pay_revoked').catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(values).toHaveLength(1);

      revokedKeys.add('ws_revoked');
      for (let attempt = 0; attempt < 5; attempt += 1) {
        await publishStatusChanged('pay_revoked').catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(values).toHaveLength(1);
      expect(failures.length).toBeGreaterThan(0);
    } finally {
      await client.dispose();
    }
  });
});

describe('graphql-ws in production', () => {
  test('introspection over graphql-ws is refused', async () => {
    const client = wsClient(key('ws_introspection'));
    try {
      const result = await firstResult(client, '{ __schema { types { name } } }');
      expect(result.data ?? null).toBeNull();
      expect(JSON.stringify(result)).not.toContain('CreateCheckoutInput');
    } finally {
      await client.dispose();
    }
  });

  test('queries and mutations over graphql-ws are refused: they belong on HTTP, where every limit applies', async () => {
    const client = wsClient(key('ws_query'));
    try {
      for (const query of ['{ payment(id: "pay_1") { id } }', 'mutation { createSellerApiKey(sellerId: "s_1") { apiKey } }']) {
        const result = await firstResult(client, query);
        expect(result.data ?? null).toBeNull();
        expect(result.errors?.length).toBeGreaterThan(0);
      }
    } finally {
      await client.dispose();
    }
  });

  test('the alias and depth limits apply to what is sent over graphql-ws', async () => {
    const client = wsClient(key('ws_limits'));
    try {
      const aliases = `subscription { paymentUpdated(paymentId: "pay_1") { ${Array.from({ length: 40 }, (_, i) => `a${i}: id`).join(' ')} } }`;
      const aliased = await firstResult(client, aliases);
      expect(aliased.data ?? null).toBeNull();
      expect(JSON.stringify(aliased.errors)).toMatch(/alias/i);
      const nested = Array.from({ length: 8 }, () => 'orders { payment {').join(' ');
      const deep = await firstResult(client, `subscription { paymentUpdated(paymentId: "pay_1") { ${nested} id ${'} } '.repeat(8)} } }`);
      expect(deep.data ?? null).toBeNull();
      expect(JSON.stringify(deep.errors)).toMatch(/depth/i);
    } finally {
      await client.dispose();
    }
  });

  test('field suggestions are hidden over graphql-ws as they are over HTTP', async () => {
    const overHttp = await post(key('suggest_http'), { query: '{ payment(id: "pay_1") { id stat } }' });
    expect(JSON.stringify(overHttp.json)).not.toContain('Did you mean');
    const client = wsClient(key('suggest_ws'));
    try {
      const result = await firstResult(client, 'subscription { paymentUpdated(paymentId: "pay_1") { id stat } }');
      expect(result.errors?.length).toBeGreaterThan(0);
      expect(JSON.stringify(result)).not.toContain('Did you mean');
    } finally {
      await client.dispose();
    }
  });

  test('a subscription within the limits still works', async () => {
    const client = wsClient(key('ws_ok'));
    try {
      const first = firstResult(client, 'subscription { paymentUpdated(paymentId: "pay_live") { id status } }');
      let result: Awaited<typeof first> | undefined;
      // The client cannot tell when the subscription is established: publish until an update arrives.
      for (let attempt = 0; attempt < 50 && !result; attempt += 1) {
        await publishStatusChanged('pay_live').catch(() => undefined);
        result = await Promise.race([first, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), 100))]);
      }
      expect(result).toEqual({ data: { paymentUpdated: { id: 'pay_live', status: 'SUCCEEDED' } } });
    } finally {
      await client.dispose();
    }
  });
});
