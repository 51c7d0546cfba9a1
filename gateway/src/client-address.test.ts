// Which address a request is counted against (the failed-authentication budget), through the real
// gateway: behind a proxy named in TRUSTED_PROXIES the client is the right-most X-Forwarded-For
// address that is not itself a trusted proxy; from any other peer the header is ignored, as a
// client could write anything there. Over HTTP and for the graphql-ws upgrade alike. The proxy is
// simulated by connecting from 127.0.0.1 with the header set; other loopback addresses
// (127.0.0.0/8 is all this machine) are clients that connect directly.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import { createLogger, hashApiKey, verifyCaller } from '@clearhouse/shared';
import { createTestBroker, freePort, type TestBroker } from '@clearhouse/shared/testkit';
import { parseGatewayEnv } from './env.js';
import { startGateway, type RunningGateway } from './server.js';
import { answerJson, startRecordingServer, type RecordingServer } from './testing/recording-server.js';

const REPO_ROOT = join(__dirname, '../..');
const SIGNING_SECRET = 'client-address-test-signing-secret';
const AUTH_FAILURE_LIMIT_PER_MINUTE = 3;
const PROXY = '127.0.0.1';

const knownKeys = new Map<string, string>();
function key(name: string): string {
  const secret = `k_${name}_${randomBytes(4).toString('hex')}`;
  knownKeys.set(hashApiKey(secret), name);
  return secret;
}
function guess(): string {
  return `k_guess_${randomBytes(12).toString('hex')}`;
}

let broker: TestBroker;
let subgraph: RecordingServer;
/** TRUSTED_PROXIES=127.0.0.1 */
let behindProxy: RunningGateway;
/** TRUSTED_PROXIES unset: trusts nobody. */
let direct: RunningGateway;

async function gatewayWith(extra: Record<string, string>, label: string): Promise<RunningGateway> {
  const url = `${subgraph.origin}/graphql`;
  const env = parseGatewayEnv({
    NODE_ENV: 'production',
    LOG_LEVEL: 'silent',
    GATEWAY_HOST: '127.0.0.1',
    GATEWAY_PORT: String(await freePort()),
    AMQP_URL: broker.amqpUrl,
    BROKER_PREFIX: broker.prefix,
    INTERNAL_SIGNING_SECRET: SIGNING_SECRET,
    PAYMENTS_URL: url,
    LEDGER_URL: url,
    WALLET_URL: url,
    PAYOUTS_URL: url,
    AUTH_CACHE_TTL_MS: '0',
    AUTH_FAILURE_LIMIT_PER_MINUTE: String(AUTH_FAILURE_LIMIT_PER_MINUTE),
    ...extra,
  });
  return startGateway(env, createLogger({ service: `gateway-test-${label}`, level: 'silent' }));
}

beforeAll(async () => {
  broker = await createTestBroker();
  subgraph = await startRecordingServer((request, response) => {
    if (request.url === '/internal/api-keys/resolve') {
      const keyId = knownKeys.get((JSON.parse(request.body) as { keyHash: string }).keyHash);
      if (!keyId) return answerJson(404, { error: 'no active key' })(request, response);
      return answerJson(200, { keyId, role: 'platform', sellerId: null })(request, response);
    }
    if (!verifyCaller(request, request.body, SIGNING_SECRET)) return answerJson(401, { errors: [{ message: 'unsigned', extensions: { code: 'UNAUTHENTICATED' } }] })(request, response);
    return answerJson(200, { data: { payment: { id: 'pay_1' } } })(request, response);
  });
  behindProxy = await gatewayWith({ TRUSTED_PROXIES: PROXY }, 'behind-proxy');
  direct = await gatewayWith({}, 'direct');
});

afterAll(async () => {
  for (const gateway of [behindProxy, direct]) for (const part of [...(gateway?.parts ?? [])].reverse()) await part.stop();
  await subgraph?.close();
  await broker?.cleanup();
});

/** Key lookups the stand-in payments subgraph answered for these secrets. */
function lookupsOf(secrets: readonly string[]): number {
  const hashes = new Set(secrets.map((secret) => hashApiKey(secret)));
  return subgraph.received.filter((r) => r.url === '/internal/api-keys/resolve' && hashes.has((JSON.parse(r.body) as { keyHash: string }).keyHash)).length;
}

interface Sent {
  /** The loopback address the connection comes from. */
  readonly from: string;
  /** The X-Forwarded-For header, if any. */
  readonly forwardedFor?: string;
}

/** The HTTP status and error code (or 'OK') a query with `apiKey` gets. */
function post(gateway: RunningGateway, sent: Sent, apiKey: string): Promise<string> {
  const text = JSON.stringify({ query: '{ payment(id: "pay_1") { id } }' });
  const headers: Record<string, string | number> = { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), authorization: `Bearer ${apiKey}` };
  if (sent.forwardedFor !== undefined) headers['x-forwarded-for'] = sent.forwardedFor;
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(`${gateway.http.url}/graphql`, { method: 'POST', localAddress: sent.from, headers }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => {
        const json = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { errors?: { extensions?: { code?: string } }[] };
        resolve(`${response.statusCode} ${json.errors?.[0]?.extensions?.code ?? 'OK'}`);
      });
      response.on('error', reject);
    });
    outgoing.on('error', reject);
    outgoing.end(text);
  });
}

/** What a graphql-ws connection_init with `apiKey` gets: 'acknowledged', or the close code. */
function connectionInit(gateway: RunningGateway, sent: Sent, apiKey: string): Promise<'acknowledged' | number> {
  return new Promise((resolve, reject) => {
    const headers = sent.forwardedFor === undefined ? {} : { 'x-forwarded-for': sent.forwardedFor };
    const socket = new WebSocket(`${gateway.http.url.replace('http://', 'ws://')}/graphql`, 'graphql-transport-ws', { localAddress: sent.from, headers });
    const timer = setTimeout(() => {
      socket.terminate();
      reject(new Error('no answer to connection_init within 5 s'));
    }, 5_000);
    socket.on('open', () => socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${apiKey}` } })));
    socket.on('message', (data: Buffer) => {
      if ((JSON.parse(data.toString('utf8')) as { type?: string }).type !== 'connection_ack') return;
      clearTimeout(timer);
      socket.close(1000);
      resolve('acknowledged');
    });
    socket.on('close', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    socket.on('error', reject);
  });
}

/** Spends the whole budget of failures for `sent`'s address with unknown keys; returns the guesses sent. */
async function spendBudget(gateway: RunningGateway, sent: Sent): Promise<string[]> {
  const guesses = Array.from({ length: AUTH_FAILURE_LIMIT_PER_MINUTE }, () => guess());
  const answers = [];
  for (const secret of guesses) answers.push(await post(gateway, sent, secret));
  expect(answers).toEqual(Array(AUTH_FAILURE_LIMIT_PER_MINUTE).fill('401 UNAUTHENTICATED'));
  return guesses;
}

describe('behind a trusted proxy (TRUSTED_PROXIES=127.0.0.1)', () => {
  test('two clients behind the proxy have separate budgets of failed authentications, over HTTP and graphql-ws', async () => {
    const clientA: Sent = { from: PROXY, forwardedFor: '198.51.100.7' };
    const clientB: Sent = { from: PROXY, forwardedFor: '198.51.100.8' };
    const spent = await spendBudget(behindProxy, clientA);

    // A is refused without a lookup, over HTTP and at connection_init.
    const refused = [guess(), guess()];
    expect(await post(behindProxy, clientA, refused[0]!)).toBe('429 RATE_LIMITED');
    expect(await connectionInit(behindProxy, clientA, refused[1]!)).toBe(4429);
    expect(lookupsOf([...spent, ...refused])).toBe(AUTH_FAILURE_LIMIT_PER_MINUTE);

    // B, through the same proxy, still has its own budget: its unknown key is looked up and
    // refused as unknown, and its good key works over HTTP and graphql-ws.
    const bGuesses = [guess(), guess()];
    expect(await post(behindProxy, clientB, bGuesses[0]!)).toBe('401 UNAUTHENTICATED');
    expect(await connectionInit(behindProxy, clientB, bGuesses[1]!)).toBe(4403);
    expect(lookupsOf(bGuesses)).toBe(2);
    expect(await post(behindProxy, clientB, key('client_b'))).toBe('200 OK');
    expect(await connectionInit(behindProxy, clientB, key('client_b_ws'))).toBe('acknowledged');

    // The proxy's own address has not been charged for A's failures either.
    expect(await post(behindProxy, { from: PROXY }, guess())).toBe('401 UNAUTHENTICATED');
  });

  test('a client behind the proxy cannot escape its budget by writing its own X-Forwarded-For: the right-most untrusted address counts', async () => {
    const client = '198.51.100.20';
    await spendBudget(behindProxy, { from: PROXY, forwardedFor: client });
    // The client sent "X-Forwarded-For: 203.0.113.1"; the proxy appended the address it saw.
    const forged: Sent = { from: PROXY, forwardedFor: `203.0.113.1, ${client}` };
    expect(await post(behindProxy, forged, guess())).toBe('429 RATE_LIMITED');
    expect(await connectionInit(behindProxy, forged, guess())).toBe(4429);
  });

  test('a peer that is not a trusted proxy is counted by its own address, whatever X-Forwarded-For it sends', async () => {
    const untrusted = '127.0.0.5';
    await spendBudget(behindProxy, { from: untrusted, forwardedFor: '198.51.100.30' });
    for (const forwardedFor of ['198.51.100.31', '198.51.100.32, 127.0.0.1', undefined]) {
      expect(await post(behindProxy, { from: untrusted, forwardedFor }, guess())).toBe('429 RATE_LIMITED');
      expect(await connectionInit(behindProxy, { from: untrusted, forwardedFor }, guess())).toBe(4429);
    }
    // And the client addresses it named were not charged.
    expect(await post(behindProxy, { from: PROXY, forwardedFor: '198.51.100.30' }, guess())).toBe('401 UNAUTHENTICATED');
  });
});

describe('with no trusted proxies (the default)', () => {
  test('a forged X-Forwarded-For does not escape the budget, over HTTP and graphql-ws', async () => {
    const from = '127.0.0.6';
    const guesses = await spendBudget(direct, { from, forwardedFor: '198.51.100.40' });
    const refused: string[] = [];
    for (const forwardedFor of ['198.51.100.41', '10.9.8.7, 198.51.100.42', '127.0.0.1', undefined]) {
      const [overHttp, overWs] = [guess(), guess()];
      refused.push(overHttp, overWs);
      expect(await post(direct, { from, forwardedFor }, overHttp)).toBe('429 RATE_LIMITED');
      expect(await connectionInit(direct, { from, forwardedFor }, overWs)).toBe(4429);
    }
    expect(lookupsOf([...guesses, ...refused])).toBe(AUTH_FAILURE_LIMIT_PER_MINUTE);
    // Even from 127.0.0.1, the address the other gateway trusts: this one trusts nobody.
    await spendBudget(direct, { from: PROXY, forwardedFor: '198.51.100.43' });
    expect(await post(direct, { from: PROXY, forwardedFor: '198.51.100.44' }, guess())).toBe('429 RATE_LIMITED');
  });
});

describe('TRUSTED_PROXIES at start-up', () => {
  test('a value that is not a list of IP addresses or CIDR ranges stops the gateway before it starts, naming the variable and the bad entries', async () => {
    const port = String(await freePort());
    const outcome = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        ['--conditions=clearhouse-source', '--import', 'tsx', join(REPO_ROOT, 'gateway/src/main.ts')],
        {
          cwd: REPO_ROOT,
          // Were the value accepted, the gateway would run (on a free port, in this test's broker
          // namespace) until the timeout ends it.
          env: { ...process.env, NODE_OPTIONS: '', NODE_ENV: 'development', LOG_LEVEL: 'silent', GATEWAY_HOST: '127.0.0.1', GATEWAY_PORT: port, AMQP_URL: broker.amqpUrl, BROKER_PREFIX: broker.prefix, TRUSTED_PROXIES: '172.16.0.0/12, proxy.internal, 192.0.2.1/33' },
          timeout: 20_000,
        },
        (error, _stdout, stderr) => resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, stderr }),
      );
    });
    expect(outcome.code).toBe(1);
    // The good entry is not complained about; both bad ones are, each on its own line.
    expect(outcome.stderr).toContain(
      [
        'invalid environment (2 problems):',
        "  TRUSTED_PROXIES: 'proxy.internal' is not an IP address or CIDR range (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)",
        "  TRUSTED_PROXIES: '192.0.2.1/33' has an invalid prefix length (an integer from 1 to 32)",
        '',
      ].join('\n'),
    );
  });
});
