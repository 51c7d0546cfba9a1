// Issue 2: the platform refuses strangers, isolates sellers, and reports health.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { signCaller } from '@clearhouse/shared';
import { freePort, REPO_ROOT } from '../../scripts/lib/platform';
import { client, platform, platformKey, rawGraphQL, uniqueId } from './support/platform';

const createSellerKey = `mutation($sellerId: ID!) { createSellerApiKey(sellerId: $sellerId) { apiKey userErrors { code field message } } }`;
const sellerQuery = `query($id: ID!) { seller(id: $id) { id balances { currency } } }`;

describe('authentication at the gateway', () => {
  test('no key → UNAUTHENTICATED and no data', async () => {
    const { status, json } = await rawGraphQL(platform().urls.gateway, { query: sellerQuery, variables: { id: 's1' } });
    expect(status).toBe(401);
    expect(json.data ?? null).toBeNull();
    expect(json.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test('a wrong key → UNAUTHENTICATED and no data', async () => {
    const { status, json } = await rawGraphQL(platform().urls.gateway, { query: sellerQuery, variables: { id: 's1' } }, { authorization: 'Bearer not_a_real_key' });
    expect(status).toBe(401);
    expect(json.data ?? null).toBeNull();
    expect(json.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test('the platform key works', async () => {
    const sellerId = uniqueId('s');
    const result = await client(platformKey()).request<{ seller: { id: string } }>(sellerQuery, { id: sellerId });
    expect(result.seller.id).toBe(sellerId);
  });
});

describe('seller keys', () => {
  test('createSellerApiKey returns a key that sees only its own seller', async () => {
    const own = uniqueId('seller');
    const other = uniqueId('seller');
    const created = await client(platformKey()).request<{ createSellerApiKey: { apiKey: string; userErrors: unknown[] } }>(createSellerKey, { sellerId: own });
    expect(created.createSellerApiKey.userErrors).toEqual([]);
    const sellerKey = created.createSellerApiKey.apiKey;
    expect(sellerKey).toMatch(/^ch_seller_/);

    const mine = await rawGraphQL(platform().urls.gateway, { query: sellerQuery, variables: { id: own } }, { authorization: `Bearer ${sellerKey}` });
    expect(mine.json.data.seller.id).toBe(own);

    const theirs = await rawGraphQL(platform().urls.gateway, { query: sellerQuery, variables: { id: other } }, { authorization: `Bearer ${sellerKey}` });
    expect(theirs.json.data?.seller ?? null).toBeNull();
    expect(theirs.json.errors[0].extensions.code).toBe('FORBIDDEN');
  });

  test('only the platform role may create seller keys, and bad seller ids are typed errors', async () => {
    const sellerKey = (await client(platformKey()).request<{ createSellerApiKey: { apiKey: string } }>(createSellerKey, { sellerId: uniqueId('seller') })).createSellerApiKey.apiKey;
    const bySeller = await client(sellerKey).request<{ createSellerApiKey: { apiKey: string | null; userErrors: { code: string }[] } }>(createSellerKey, { sellerId: uniqueId('seller') });
    expect(bySeller.createSellerApiKey.apiKey).toBeNull();
    expect(bySeller.createSellerApiKey.userErrors[0]!.code).toBe('FORBIDDEN');
    const bad = await client(platformKey()).request<{ createSellerApiKey: { apiKey: string | null; userErrors: { code: string; field: string[] }[] } }>(createSellerKey, { sellerId: 'not a valid id!' });
    expect(bad.createSellerApiKey.apiKey).toBeNull();
    expect(bad.createSellerApiKey.userErrors[0]).toMatchObject({ code: 'INVALID_INPUT', field: ['sellerId'] });
  });
});

describe('subgraphs refuse direct, unsigned calls', () => {
  const subgraphs = ['payments', 'ledger', 'wallet', 'payouts'] as const;

  test.each(subgraphs)('%s refuses an unsigned request', async (name) => {
    const { status, json } = await rawGraphQL(platform().urls[name], { query: '{ __typename }' });
    expect(status).toBe(401);
    expect(json.errors[0].extensions.code).toBe('UNAUTHENTICATED');
  });

  test.each(subgraphs)('%s refuses a request signed with the wrong secret', async (name) => {
    const url = platform().urls[name];
    const headers = signCaller({ role: 'platform', keyId: 'forged', sellerId: null }, 'not-the-real-signing-secret', { method: 'POST', url, body: JSON.stringify({ query: '{ __typename }' }) });
    const { status } = await rawGraphQL(url, { query: '{ __typename }' }, headers);
    expect(status).toBe(401);
  });

  test('a correctly signed request is accepted (the gateway path works)', async () => {
    const url = platform().urls.wallet;
    const headers = signCaller({ role: 'platform', keyId: 'test', sellerId: null }, platform().env.INTERNAL_SIGNING_SECRET!, { method: 'POST', url, body: JSON.stringify({ query: '{ __typename }' }) });
    const { status, json } = await rawGraphQL(url, { query: '{ __typename }' }, headers);
    expect(status).toBe(200);
    expect(json.data.__typename).toBe('Query');
  });
});

describe('health, readiness, Sandbox and CSRF', () => {
  test('every service answers /healthz and /readyz', async () => {
    const urls = platform().urls;
    for (const base of [urls.gateway, urls.payments, urls.ledger, urls.wallet, urls.payouts, urls.psp]) {
      for (const path of ['/healthz', '/readyz']) {
        const response = await fetch(new URL(path, base));
        expect({ url: `${base}${path}`, status: response.status }).toEqual({ url: `${base}${path}`, status: 200 });
      }
    }
  });

  test('Apollo Sandbox is the landing page outside production', async () => {
    const response = await fetch(platform().urls.gateway, { headers: { accept: 'text/html' } });
    expect(response.status).toBe(200);
    expect((await response.text()).toLowerCase()).toContain('sandbox');
  });

  test('CSRF prevention refuses a simple GET query without a preflight header', async () => {
    const response = await fetch(`${platform().urls.gateway}?query=${encodeURIComponent('{ __typename }')}`, { headers: { authorization: `Bearer ${platformKey()}` } });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('CSRF');
  });

  test('Prometheus metrics are exposed', async () => {
    const response = await fetch(new URL('/metrics', platform().urls.gateway));
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('process_cpu_user_seconds_total');
  });
});

describe('production mode', () => {
  test('introspection and Sandbox are off in production', async () => {
    const port = await freePort();
    const env = { ...process.env, ...platform().env, NODE_ENV: 'production', GATEWAY_PORT: String(port) };
    const child = spawn(process.execPath, [join(REPO_ROOT, 'gateway/dist/main.js')], { env, stdio: 'ignore' });
    try {
      const base = `http://127.0.0.1:${port}`;
      let ready = false;
      for (let attempt = 0; attempt < 100 && !ready; attempt += 1) {
        ready = await fetch(`${base}/healthz`).then((r) => r.ok, () => false);
        if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(ready).toBe(true);
      const landing = await fetch(`${base}/graphql`, { headers: { accept: 'text/html' } });
      expect((await landing.text()).toLowerCase()).not.toContain('sandbox');
      const introspection = await rawGraphQL(`${base}/graphql`, { query: '{ __schema { types { name } } }' }, { authorization: `Bearer ${platformKey()}` });
      expect(introspection.json.data ?? null).toBeNull();
      expect(JSON.stringify(introspection.json.errors)).toMatch(/introspection/i);
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('the start command and shutdown', () => {
  test('npm start without a reachable broker stops with a message naming what is missing and how to provide it', async () => {
    const { spawnSync } = await import('node:child_process');
    const result = spawnSync(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts/start.ts')], {
      cwd: REPO_ROOT,
      env: { ...process.env, AMQP_URL: 'amqp://guest:guest@127.0.0.1:1', CLEARHOUSE_NO_DOCKER: '1', NODE_OPTIONS: '' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('RabbitMQ at 127.0.0.1:1');
    expect(result.stderr).toContain('AMQP_URL');
    expect(result.stderr).toMatch(/docker compose up -d postgres rabbitmq/);
    expect(result.stderr).not.toContain('PostgreSQL at');
  });

  test('a service shuts down gracefully on SIGTERM: stops taking requests, closes its parts, exits 0', async () => {
    const port = await freePort();
    const env = { ...process.env, ...platform().env, PAYMENTS_PORT: String(port), NODE_OPTIONS: '' };
    const child = spawn(process.execPath, [join(REPO_ROOT, 'subgraphs/payments/dist/main.js')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    let ready = false;
    for (let attempt = 0; attempt < 150 && !ready; attempt += 1) {
      ready = await fetch(`http://127.0.0.1:${port}/readyz`).then((r) => r.ok, () => false);
      if (!ready) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(ready).toBe(true);
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const part of ['http', 'apollo', 'broker', 'prisma']) expect(output).toContain(`"part":"${part}","msg":"stopped"`);
    expect(output).toContain('payments stopped');
    expect(await fetch(`http://127.0.0.1:${port}/healthz`).then(() => 'answered', () => 'refused')).toBe('refused');
  });
});
