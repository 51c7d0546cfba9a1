// The wallet's signed internal reservation routes (the payouts subgraph's view of the wallet)
// against the real PostgreSQL, served by the shared HTTP front exactly as app.ts mounts them.
import { createLogger, createPgDatabase, signCaller, startHttpService, systemCaller, type HttpService, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { applyWalletChanges } from '../application/apply-changes.js';
import { findWallet } from '../persistence/wallet-store.js';
import { walletInternalRoutes } from './internal-routes.js';

jest.setTimeout(60_000);

const SIGNING_SECRET = 'test-internal-signing-secret-0123456789';
const AT = new Date('2025-03-01T10:00:00.000Z');

let database: TestDatabase;
let db: PgDatabase;
let http: HttpService;

beforeAll(async () => {
  database = await createTestDatabase('wallet');
  db = createPgDatabase(database.url, { poolMax: 4 });
  http = await startHttpService({
    service: 'wallet',
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({ service: 'wallet', level: 'silent' }),
    routes: walletInternalRoutes(db, SIGNING_SECRET),
    readiness: async () => ({}),
  });
});

afterAll(async () => {
  await http?.close();
  await db?.end();
  await database?.drop();
});

async function post(path: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const text = JSON.stringify(body);
  const response = await fetch(`${http.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...signCaller(systemCaller('payouts'), SIGNING_SECRET, { method: 'POST', url: path, body: text }) },
    body: text,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

/** A seller with `availableMinor` available: a delivered payment, as the consumers apply it. */
async function seedAvailable(sellerId: string, availableMinor: bigint): Promise<void> {
  await db.$transaction((tx) =>
    applyWalletChanges(
      tx,
      [{ sellerId, currency: 'USD', kind: 'order_delivered', delta: { pendingDeltaMinor: 0n, availableDeltaMinor: availableMinor, reservedDeltaMinor: 0n } }],
      { causationKey: `order_delivered:seed_${sellerId}`, correlationId: null, at: AT },
    ),
  );
}

async function countRows(sql: string, ...values: unknown[]): Promise<number> {
  const rows = await db.$queryRawUnsafe<{ n: bigint | string }[]>(sql, ...values);
  return Number(rows[0]?.n ?? 0);
}

describe('POST /internal/reservations', () => {
  it('does not answer a released reservation as held: a payout retried after its reservation was given back reserves nothing', async () => {
    const sellerId = 'route_released';
    await seedAvailable(sellerId, 10_000n);
    const reserve = { payoutId: 'payout_route_released', sellerId, currency: 'USD', amountMinor: '4000', minAmountMinor: '100' };

    expect(await post('/internal/reservations', reserve)).toEqual({ status: 200, json: { payoutId: reserve.payoutId, amountMinor: '4000', replayed: false } });
    // requestPayout could not save its payout, so it gave the reservation back (compensation).
    expect(await post('/internal/reservations/release', { payoutId: reserve.payoutId })).toEqual({ status: 200, json: { released: true } });
    expect(await findWallet(db, sellerId, 'USD')).toMatchObject({ availableMinor: 10_000n, reservedMinor: 0n });
    const movementsBefore = await countRows(`SELECT count(*) AS n FROM wallet_movements WHERE seller_id = $1`, sellerId);

    // The client retries with the same idempotency key, hence the same payout id. The wallet must
    // not confirm a hold it no longer has: the payouts subgraph would then save and pay a payout
    // that took nothing from the balance.
    const again = await post('/internal/reservations', reserve);
    expect(again.status).toBe(409);
    expect(again.json).toMatchObject({ code: 'RESERVATION_RELEASED' });
    expect(await findWallet(db, sellerId, 'USD')).toMatchObject({ availableMinor: 10_000n, reservedMinor: 0n });
    expect(await countRows(`SELECT count(*) AS n FROM wallet_movements WHERE seller_id = $1`, sellerId)).toBe(movementsBefore);
    expect(await countRows(`SELECT count(*) AS n FROM wallet_reservations WHERE id = $1 AND status = 'released'`, reserve.payoutId)).toBe(1);
  });

  it('still replays a held reservation for the same payout id', async () => {
    const sellerId = 'route_held';
    await seedAvailable(sellerId, 5_000n);
    const reserve = { payoutId: 'payout_route_held', sellerId, currency: 'USD', amountMinor: null, minAmountMinor: '100' };
    expect(await post('/internal/reservations', reserve)).toEqual({ status: 200, json: { payoutId: reserve.payoutId, amountMinor: '5000', replayed: false } });
    expect(await post('/internal/reservations', reserve)).toEqual({ status: 200, json: { payoutId: reserve.payoutId, amountMinor: '5000', replayed: true } });
    expect(await findWallet(db, sellerId, 'USD')).toMatchObject({ availableMinor: 0n, reservedMinor: 5_000n });
  });
});

describe('GET /internal/reservations/held', () => {
  async function get(target: string, signed = true): Promise<{ status: number; json: Record<string, unknown> }> {
    const headers = signed ? signCaller(systemCaller('payouts'), SIGNING_SECRET, { method: 'GET', url: target, body: '' }) : {};
    const response = await fetch(`${http.url}${target}`, { headers });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }
  const ageMinutes = (payoutId: string, minutes: number) =>
    db.$executeRawUnsafe(`UPDATE wallet_reservations SET created_at = now() - ($2::int * interval '1 minute') WHERE id = $1`, payoutId, minutes);

  it('lists the reservations still held past the given age, oldest first, in pages', async () => {
    const sellerId = 'route_list';
    await seedAvailable(sellerId, 10_000n);
    const ids = ['payout_list_a', 'payout_list_b', 'payout_list_c', 'payout_list_young', 'payout_list_released'];
    for (const payoutId of ids) {
      expect((await post('/internal/reservations', { payoutId, sellerId, currency: 'USD', amountMinor: '1000', minAmountMinor: '100' })).status).toBe(200);
    }
    await post('/internal/reservations/release', { payoutId: 'payout_list_released' });
    await ageMinutes('payout_list_a', 300);
    await ageMinutes('payout_list_b', 200);
    await ageMinutes('payout_list_c', 100);
    await ageMinutes('payout_list_released', 400);
    await ageMinutes('payout_list_young', 5);

    const ours = (json: Record<string, unknown>) => (json.reservations as { payoutId: string }[]).filter((r) => r.payoutId.startsWith('payout_list_'));
    const first = await get('/internal/reservations/held?olderThanMs=3600000&limit=2');
    expect(first.status).toBe(200);
    expect(first.json.reservations).toEqual([
      { payoutId: 'payout_list_a', sellerId, currency: 'USD', amountMinor: '1000', createdAt: expect.any(String) },
      { payoutId: 'payout_list_b', sellerId, currency: 'USD', amountMinor: '1000', createdAt: expect.any(String) },
    ]);
    const second = await get(`/internal/reservations/held?olderThanMs=3600000&limit=2&after=${String(first.json.nextCursor)}`);
    expect(ours(second.json).map((r) => r.payoutId)).toEqual(['payout_list_c']);
    expect(second.json.nextCursor).toBeNull();
    // Nothing is moved by listing.
    expect(await findWallet(db, sellerId, 'USD')).toMatchObject({ availableMinor: 6_000n, reservedMinor: 4_000n });
  });

  it('refuses a bad query with 400 and an unsigned caller with 401', async () => {
    for (const query of ['limit=5', 'olderThanMs=-1', 'olderThanMs=1.5', 'olderThanMs=60000&limit=0', 'olderThanMs=60000&limit=1001', 'olderThanMs=60000&after=bm90LWEtY3Vyc29y']) {
      const answer = await get(`/internal/reservations/held?${query}`);
      expect({ query, status: answer.status, error: typeof answer.json.error }).toEqual({ query, status: 400, error: 'string' });
    }
    expect((await get('/internal/reservations/held?olderThanMs=60000', false)).status).toBe(401);
  });
});
