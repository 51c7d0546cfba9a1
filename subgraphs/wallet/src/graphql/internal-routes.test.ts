// The wallet's signed internal reservation routes (the payouts subgraph's view of the wallet)
// against the real PostgreSQL, served by the shared HTTP front exactly as app.ts mounts them.
import { createLogger, createPgDatabase, signCaller, startHttpService, systemCaller, type HttpService, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import { applyWalletChanges } from '../application/apply-changes.js';
import { consume, release, reserve, reserveInTx } from '../application/reservations.js';
import { WalletRuleError } from '../domain/index.js';
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

async function get(target: string, signed = true): Promise<{ status: number; json: Record<string, unknown> }> {
  const headers = signed ? signCaller(systemCaller('payouts'), SIGNING_SECRET, { method: 'GET', url: target, body: '' }) : {};
  const response = await fetch(`${http.url}${target}`, { headers });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

interface Credit {
  sellerId: string;
  currency: string;
  availableMinor: bigint;
}

/** Credits each amount to its seller's available balance: delivered orders of one cause, as the consumers apply them. */
async function creditAvailable(credits: readonly Credit[], cause: string): Promise<void> {
  await db.$transaction((tx) =>
    applyWalletChanges(
      tx,
      credits.map(({ sellerId, currency, availableMinor }) => ({ sellerId, currency, kind: 'order_delivered' as const, delta: { pendingDeltaMinor: 0n, availableDeltaMinor: availableMinor, reservedDeltaMinor: 0n } })),
      { causationKey: `order_delivered:${cause}`, correlationId: null, at: AT },
    ),
  );
}

/** A seller with `availableMinor` available: a delivered payment, as the consumers apply it. */
async function seedAvailable(sellerId: string, availableMinor: bigint): Promise<void> {
  await creditAvailable([{ sellerId, currency: 'USD', availableMinor }], `seed_${sellerId}`);
}

const ageMinutes = (payoutId: string, minutes: number) =>
  db.$executeRawUnsafe(`UPDATE wallet_reservations SET created_at = now() - ($2::int * interval '1 minute') WHERE id = $1`, payoutId, minutes);

async function countRows(sql: string, ...values: unknown[]): Promise<number> {
  const rows = await db.$queryRawUnsafe<{ n: bigint | string }[]>(sql, ...values);
  return Number(rows[0]?.n ?? 0);
}

/** Bound on polling for a session to start waiting on a lock: 200 × 25 ms. */
const LOCK_WAIT_POLLS_MAX = 200;

/** Sessions of the test database waiting on a lock (a row, a tuple or an advisory lock). */
const lockWaiters = () => countRows(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);

/** Until `count` sessions wait on a lock, or `settled` (a request expected to wait) has answered instead. */
async function untilWaiting(count: number, settled: Promise<unknown>): Promise<void> {
  let answered = false;
  void settled.then(
    () => (answered = true),
    () => (answered = true),
  );
  for (let poll = 0; poll < LOCK_WAIT_POLLS_MAX && !answered; poll += 1) {
    if ((await lockWaiters()) >= count) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (!answered) throw new Error(`${count} sessions never waited on a lock`);
}

/**
 * Locks the seller's balance row from another session (its own one-connection pool), as a long
 * wallet transaction would, until `release`: the wallet's reservations for that seller wait on it.
 */
async function holdBalanceRow(sellerId: string, currency: string): Promise<{ release(): Promise<void> }> {
  const session = createPgDatabase(database.url, { poolMax: 1 });
  let letGo = (): void => undefined;
  const released = new Promise<void>((resolve) => (letGo = resolve));
  let lockTaken = (_rows: number): void => undefined;
  const taken = new Promise<number>((resolve) => (lockTaken = resolve));
  const holding = session.$transaction(
    async (tx) => {
      lockTaken((await tx.$queryRawUnsafe<unknown[]>('SELECT 1 FROM wallet_balances WHERE seller_id = $1 AND currency = $2 FOR UPDATE', sellerId, currency)).length);
      await released;
    },
    { timeout: 30_000 },
  );
  const locked = await Promise.race([taken, holding.then(() => 0)]);
  const release = async (): Promise<void> => {
    letGo();
    try {
      await holding;
    } finally {
      await session.end();
    }
  };
  if (locked !== 1) {
    await release();
    throw new Error(`no balance of ${sellerId} ${currency} to hold`);
  }
  return { release };
}

/** Everything a reservation request could write for these sellers and this payout id. */
async function writtenFor(sellerIds: readonly string[], payoutId: string): Promise<unknown> {
  return {
    balances: await db.$queryRawUnsafe(
      `SELECT seller_id, currency, available_minor::text, reserved_minor::text, version FROM wallet_balances WHERE seller_id = ANY($1::text[]) ORDER BY seller_id, currency`,
      sellerIds,
    ),
    movements: await countRows(`SELECT count(*) AS n FROM wallet_movements WHERE seller_id = ANY($1::text[])`, sellerIds),
    outbox: await countRows(`SELECT count(*) AS n FROM outbox_messages`),
    reservation: await db.$queryRawUnsafe(
      `SELECT seller_id, currency, amount_minor::text, status, updated_at FROM wallet_reservations WHERE id = $1`,
      payoutId,
    ),
  };
}

/**
 * Holds the payout id's advisory lock (the one the routes take: lockPayoutId) from another
 * session until `release`, so requests for that payout id queue behind it in arrival order.
 */
async function holdPayoutIdLock(payoutId: string): Promise<{ release(): Promise<void> }> {
  const session = createPgDatabase(database.url, { poolMax: 1 });
  let letGo = (): void => undefined;
  const released = new Promise<void>((resolve) => (letGo = resolve));
  let lockTaken = (): void => undefined;
  const taken = new Promise<void>((resolve) => (lockTaken = resolve));
  const holding = session.$transaction(
    async (tx) => {
      await tx.$queryRawUnsafe(`SELECT pg_advisory_xact_lock($1::int, hashtext($2))::text`, 0x77616c70, payoutId);
      lockTaken();
      await released;
    },
    { timeout: 30_000 },
  );
  await Promise.race([taken, holding]);
  return {
    async release() {
      letGo();
      try {
        await holding;
      } finally {
        await session.end();
      }
    },
  };
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
  it.each([
    ['a fixed amount', '4000', '4000', 1_000n],
    ['the whole available balance', null, '5000', 0n],
  ])('answers a retry that raced the first reservation of a payout (%s) with that reservation, not INSUFFICIENT_FUNDS', async (_label, amountMinor, reservedMinor, availableAfterMinor) => {
    const sellerId = `route_retry_${amountMinor ?? 'all'}`;
    await seedAvailable(sellerId, 5_000n);
    const reserve = { payoutId: `payout_route_retry_${amountMinor ?? 'all'}`, sellerId, currency: 'USD', amountMinor, minAmountMinor: '100' };
    const waitersBefore = await lockWaiters();

    // A long wallet transaction holds the seller's balance: the first attempt waits on it, and
    // the payouts client, timed out, retries with the same payout id while it still waits.
    const hold = await holdBalanceRow(sellerId, 'USD');
    let first: Promise<{ status: number; json: Record<string, unknown> }>;
    let retry: Promise<{ status: number; json: Record<string, unknown> }>;
    try {
      first = post('/internal/reservations', reserve);
      await untilWaiting(waitersBefore + 1, first);
      retry = post('/internal/reservations', reserve);
      await untilWaiting(waitersBefore + 2, retry);
    } finally {
      await hold.release();
    }

    expect(await first).toEqual({ status: 200, json: { payoutId: reserve.payoutId, amountMinor: reservedMinor, replayed: false } });
    // The same answer as a replay after the first attempt: the payout's hold, not a refusal.
    expect(await retry).toEqual({ status: 200, json: { payoutId: reserve.payoutId, amountMinor: reservedMinor, replayed: true } });
    expect(await findWallet(db, sellerId, 'USD')).toMatchObject({ availableMinor: availableAfterMinor, reservedMinor: BigInt(reservedMinor) });
    expect(await countRows(`SELECT count(*) AS n FROM wallet_reservations WHERE id = $1 AND status = 'held'`, reserve.payoutId)).toBe(1);
    expect(await countRows(`SELECT count(*) AS n FROM wallet_movements WHERE seller_id = $1 AND kind = 'payout_requested'`, sellerId)).toBe(1);
    expect(await post('/internal/reservations', reserve)).toEqual({ status: 200, json: { payoutId: reserve.payoutId, amountMinor: reservedMinor, replayed: true } });
  });
  it('answers a payout id reserved meanwhile with other terms (the payout.requested consumer) with 409 RESERVATION_MISMATCH, and writes nothing', async () => {
    const sellerId = 'route_mismatch';
    await seedAvailable(sellerId, 10_000n);
    const payoutId = 'payout_route_mismatch';
    const waitersBefore = await lockWaiters();
    const movementsOf = (seller: string) => countRows(`SELECT count(*) AS n FROM wallet_movements WHERE seller_id = $1`, seller);
    const outboxRowsOf = (payout: string) => countRows(`SELECT count(*) AS n FROM outbox_messages WHERE correlation_id = $1`, payout);
    // What the consumer's reservation alone writes, for comparison: the same reservation of
    // another seller's payout with no route call beside it.
    const control = { sellerId: 'route_mismatch_control', payoutId: 'payout_route_mismatch_control' };
    await seedAvailable(control.sellerId, 10_000n);
    await db.$transaction((tx) => reserveInTx(tx, { payoutId: control.payoutId, sellerId: control.sellerId, currency: 'USD', amountMinor: 3_000n, at: AT, causationEventId: 'evt_route_mismatch_control' }));

    // The payout.requested consumer reserves the payout id with other terms (3000) in its own
    // transaction, which does not take the payout id's lock: the route finds no reservation yet
    // and waits on the balance row the consumer's reservation holds, then finds it taken.
    const consumer = createPgDatabase(database.url, { poolMax: 1 });
    let commit = (): void => undefined;
    const committing = new Promise<void>((resolve) => (commit = resolve));
    let reserved = (): void => undefined;
    const isReserved = new Promise<void>((resolve) => (reserved = resolve));
    const consumerTx = consumer.$transaction(
      async (tx) => {
        await reserveInTx(tx, { payoutId, sellerId, currency: 'USD', amountMinor: 3_000n, at: AT, causationEventId: 'evt_route_mismatch' });
        reserved();
        await committing;
      },
      { timeout: 30_000 },
    );
    let answer: Promise<{ status: number; json: Record<string, unknown> }>;
    try {
      await Promise.race([isReserved, consumerTx]);
      answer = post('/internal/reservations', { payoutId, sellerId, currency: 'USD', amountMinor: '4000', minAmountMinor: '100' });
      await untilWaiting(waitersBefore + 1, answer);
    } finally {
      commit();
      await consumerTx.finally(() => consumer.end());
    }

    expect(await answer).toEqual({ status: 409, json: { code: 'RESERVATION_MISMATCH', payoutId } });
    // Only the consumer's reservation: the route reserved nothing, moved nothing, emitted nothing.
    expect(await findWallet(db, sellerId, 'USD')).toMatchObject({ availableMinor: 7_000n, reservedMinor: 3_000n });
    expect(await db.$queryRawUnsafe(`SELECT amount_minor::text AS amount_minor, status FROM wallet_reservations WHERE id = $1`, payoutId)).toEqual([{ amount_minor: '3000', status: 'held' }]);
    expect(await countRows(`SELECT count(*) AS n FROM wallet_movements WHERE seller_id = $1 AND kind = 'payout_requested'`, sellerId)).toBe(1);
    expect(await movementsOf(sellerId)).toBe(await movementsOf(control.sellerId));
    expect(await outboxRowsOf(payoutId)).toBe(await outboxRowsOf(control.payoutId));
    expect(await outboxRowsOf(payoutId)).toBeGreaterThan(0);
  });

  it.each(['held', 'released', 'consumed'] as const)(
    'answers a request with other terms for a payout id whose reservation is committed (%s) with 409 RESERVATION_MISMATCH, and writes nothing',
    async (status) => {
      const sellerId = `route_terms_${status}`;
      const otherSellerId = `route_terms_${status}_other`;
      const payoutId = `payout_route_terms_${status}`;
      await creditAvailable(
        [
          { sellerId, currency: 'USD', availableMinor: 10_000n },
          { sellerId, currency: 'EUR', availableMinor: 10_000n },
          { sellerId: otherSellerId, currency: 'USD', availableMinor: 10_000n },
        ],
        `route_terms_${status}`,
      );
      const reserve = { payoutId, sellerId, currency: 'USD', amountMinor: '4000', minAmountMinor: '100' };
      expect(await post('/internal/reservations', reserve)).toEqual({ status: 200, json: { payoutId, amountMinor: '4000', replayed: false } });
      if (status === 'released') expect(await post('/internal/reservations/release', { payoutId })).toEqual({ status: 200, json: { released: true } });
      if (status === 'consumed') await consume(db, { payoutId, sellerId, currency: 'USD', amountMinor: 4_000n, at: AT });
      const before = await writtenFor([sellerId, otherSellerId], payoutId);

      const otherTerms = [
        { ...reserve, amountMinor: '3000' },
        { ...reserve, amountMinor: '5000' },
        { ...reserve, sellerId: otherSellerId },
        { ...reserve, sellerId: otherSellerId, amountMinor: null },
        { ...reserve, currency: 'EUR' },
        { ...reserve, currency: 'EUR', amountMinor: null },
      ];
      const answers = [];
      for (const terms of otherTerms) answers.push(await post('/internal/reservations', terms));
      expect(answers).toEqual(otherTerms.map(() => ({ status: 409, json: { code: 'RESERVATION_MISMATCH', payoutId } })));
      expect(await writtenFor([sellerId, otherSellerId], payoutId)).toEqual(before);

      // The same terms are answered as before: a held reservation is replayed (for its exact
      // amount, or for "the whole balance", which it fits), a given-back one is never.
      const sameTerms = [reserve, { ...reserve, amountMinor: null }];
      const expected =
        status === 'held'
          ? { status: 200, json: { payoutId, amountMinor: '4000', replayed: true } }
          : { status: 409, json: { code: 'RESERVATION_RELEASED', payoutId } };
      for (const terms of sameTerms) expect(await post('/internal/reservations', terms)).toEqual(expected);
      expect(await writtenFor([sellerId, otherSellerId], payoutId)).toEqual(before);
    },
  );
});

describe('POST /internal/reservations/release', () => {
  it('releases a reservation that was still being taken when the release came in, so no hold is left behind', async () => {
    const sellerId = 'route_release_race';
    await seedAvailable(sellerId, 5_000n);
    const reserve = { payoutId: 'payout_route_release_race', sellerId, currency: 'USD', amountMinor: '4000', minAmountMinor: '100' };
    const waitersBefore = await lockWaiters();

    const hold = await holdBalanceRow(sellerId, 'USD');
    let reserving: Promise<{ status: number; json: Record<string, unknown> }>;
    let releasing: Promise<{ status: number; json: Record<string, unknown> }>;
    try {
      reserving = post('/internal/reservations', reserve);
      await untilWaiting(waitersBefore + 1, reserving);
      // The release of the same payout id must wait for the reservation in flight, not answer
      // "nothing to release" and leave the hold it is about to take.
      releasing = post('/internal/reservations/release', { payoutId: reserve.payoutId });
      await untilWaiting(waitersBefore + 2, releasing);
    } finally {
      await hold.release();
    }

    expect(await reserving).toEqual({ status: 200, json: { payoutId: reserve.payoutId, amountMinor: '4000', replayed: false } });
    expect(await releasing).toEqual({ status: 200, json: { released: true } });
    expect(await findWallet(db, sellerId, 'USD')).toMatchObject({ availableMinor: 5_000n, reservedMinor: 0n });
    expect(await countRows(`SELECT count(*) AS n FROM wallet_reservations WHERE id = $1 AND status = 'released'`, reserve.payoutId)).toBe(1);
    // Given back: never replayed as held.
    expect((await post('/internal/reservations', reserve)).json).toMatchObject({ code: 'RESERVATION_RELEASED' });
    expect(await findWallet(db, sellerId, 'USD')).toMatchObject({ availableMinor: 5_000n, reservedMinor: 0n });
  });

  it('marks a payout id released when its release comes before any reservation: a later reservation answers 409 RESERVATION_RELEASED and holds nothing', async () => {
    const sellerId = 'route_release_first';
    await seedAvailable(sellerId, 5_000n);
    const payoutId = 'payout_route_release_first';
    const before = await writtenFor([sellerId], payoutId);

    // payouts gave up on the payout (its reservation timed out) and released it; nothing was held.
    expect(await post('/internal/reservations/release', { payoutId })).toEqual({ status: 200, json: { released: false } });
    expect(await db.$queryRawUnsafe(`SELECT seller_id, currency, amount_minor, status FROM wallet_reservations WHERE id = $1`, payoutId)).toEqual([
      { seller_id: null, currency: null, amount_minor: null, status: 'released' },
    ]);
    const marked = await writtenFor([sellerId], payoutId);
    expect({ ...(marked as object), reservation: [] }).toEqual(before);

    // The delayed reservation of the same payout id arrives afterwards: whatever its terms, it
    // holds nothing (no sweep needed to give the money back).
    for (const amountMinor of ['4000', null]) {
      expect(await post('/internal/reservations', { payoutId, sellerId, currency: 'USD', amountMinor, minAmountMinor: '100' })).toEqual({
        status: 409,
        json: { code: 'RESERVATION_RELEASED', payoutId },
      });
    }
    // A second release finds nothing held either.
    expect(await post('/internal/reservations/release', { payoutId })).toEqual({ status: 200, json: { released: false } });
    expect(await writtenFor([sellerId], payoutId)).toEqual(marked);
    expect(await findWallet(db, sellerId, 'USD')).toMatchObject({ availableMinor: 5_000n, reservedMinor: 0n });
    const held = await get('/internal/reservations/held?olderThanMs=0&limit=1000');
    expect((held.json.reservations as { payoutId: string }[]).filter((r) => r.payoutId === payoutId)).toEqual([]);
  });

  it('the database keeps a release marker a marker: terms all null only when released, never filled in later', async () => {
    const payoutId = 'payout_route_marker_rows';
    expect(await post('/internal/reservations/release', { payoutId })).toEqual({ status: 200, json: { released: false } });
    const refused = async (sql: string, ...values: unknown[]): Promise<string> => {
      try {
        await db.$executeRawUnsafe(sql, ...values);
      } catch (error) {
        return String((error as Error).message);
      }
      return 'accepted';
    };
    const insert = `INSERT INTO wallet_reservations (id, seller_id, currency, amount_minor, status) VALUES ($1, $2, $3, $4::int8, $5)`;
    expect(await refused(insert, 'payout_route_marker_held', null, null, null, 'held')).toMatch(/must be released/);
    expect(await refused(insert, 'payout_route_marker_partial', 'route_marker_rows', null, '100', 'held')).toMatch(/or none of them/);
    expect(await refused(insert, 'payout_route_marker_partial2', null, 'USD', null, 'released')).toMatch(/or none of them/);
    expect(await refused(`UPDATE wallet_reservations SET seller_id = 'route_marker_rows', currency = 'USD', amount_minor = 100 WHERE id = $1`, payoutId)).toMatch(/cannot change its seller/);
    expect(await refused(`UPDATE wallet_reservations SET status = 'held' WHERE id = $1`, payoutId)).toMatch(/must be released|cannot become held/);
    expect(await db.$queryRawUnsafe(`SELECT id, seller_id, currency, amount_minor, status FROM wallet_reservations WHERE id = ANY($1::text[]) ORDER BY id`, [
      payoutId,
      'payout_route_marker_held',
      'payout_route_marker_partial',
      'payout_route_marker_partial2',
    ])).toEqual([
      { id: payoutId, seller_id: null, currency: null, amount_minor: null, status: 'released' },
    ]);
  });

  it('a release queued before a reservation of the same payout id is decided first: the reservation answers 409 RESERVATION_RELEASED', async () => {
    const sellerId = 'route_release_queued';
    await seedAvailable(sellerId, 5_000n);
    const payoutId = 'payout_route_release_queued';
    const waitersBefore = await lockWaiters();

    const lock = await holdPayoutIdLock(payoutId);
    let releasing: Promise<{ status: number; json: Record<string, unknown> }>;
    let reserving: Promise<{ status: number; json: Record<string, unknown> }>;
    try {
      releasing = post('/internal/reservations/release', { payoutId });
      await untilWaiting(waitersBefore + 1, releasing);
      reserving = post('/internal/reservations', { payoutId, sellerId, currency: 'USD', amountMinor: '4000', minAmountMinor: '100' });
      await untilWaiting(waitersBefore + 2, reserving);
    } finally {
      await lock.release();
    }

    expect(await releasing).toEqual({ status: 200, json: { released: false } });
    expect(await reserving).toEqual({ status: 409, json: { code: 'RESERVATION_RELEASED', payoutId } });
    expect(await findWallet(db, sellerId, 'USD')).toMatchObject({ availableMinor: 5_000n, reservedMinor: 0n });
    expect(await countRows(`SELECT count(*) AS n FROM wallet_movements WHERE seller_id = $1 AND kind = 'payout_requested'`, sellerId)).toBe(0);
  });

  it('releases a reservation the payout.requested consumer was still taking when the release of a payout id it had not seen came in', async () => {
    const sellerId = 'route_release_consumer';
    await seedAvailable(sellerId, 5_000n);
    const payoutId = 'payout_route_release_consumer';
    const waitersBefore = await lockWaiters();

    // The consumer reserves in its own transaction, without the payout id's lock: the release
    // finds no reservation yet and must not leave the one about to commit held.
    const consumer = createPgDatabase(database.url, { poolMax: 1 });
    let commit = (): void => undefined;
    const committing = new Promise<void>((resolve) => (commit = resolve));
    let reserved = (): void => undefined;
    const isReserved = new Promise<void>((resolve) => (reserved = resolve));
    const consumerTx = consumer.$transaction(
      async (tx) => {
        await reserveInTx(tx, { payoutId, sellerId, currency: 'USD', amountMinor: 3_000n, at: AT, causationEventId: 'evt_route_release_consumer' });
        reserved();
        await committing;
      },
      { timeout: 30_000 },
    );
    let releasing: Promise<{ status: number; json: Record<string, unknown> }>;
    try {
      await Promise.race([isReserved, consumerTx]);
      releasing = post('/internal/reservations/release', { payoutId });
      await untilWaiting(waitersBefore + 1, releasing);
    } finally {
      commit();
      await consumerTx.finally(() => consumer.end());
    }

    expect(await releasing).toEqual({ status: 200, json: { released: true } });
    expect(await findWallet(db, sellerId, 'USD')).toMatchObject({ availableMinor: 5_000n, reservedMinor: 0n });
    expect(await db.$queryRawUnsafe(`SELECT seller_id, amount_minor::text AS amount_minor, status FROM wallet_reservations WHERE id = $1`, payoutId)).toEqual([
      { seller_id: sellerId, amount_minor: '3000', status: 'released' },
    ]);
  });

  it('a payout id marked released refuses the payout.requested consumer\'s reservation and its payout.paid, and writes nothing', async () => {
    const sellerId = 'route_marker_consumer';
    await seedAvailable(sellerId, 5_000n);
    const payoutId = 'payout_route_marker_consumer';
    expect(await post('/internal/reservations/release', { payoutId })).toEqual({ status: 200, json: { released: false } });
    const marked = await writtenFor([sellerId], payoutId);
    const hold = { payoutId, sellerId, currency: 'USD', amountMinor: 3_000n, at: AT, causationEventId: 'evt_route_marker_consumer' };

    await expect(reserve(db, hold)).rejects.toMatchObject({ name: 'WalletRuleError', code: 'RESERVATION_RELEASED' });
    await expect(consume(db, hold)).rejects.toBeInstanceOf(WalletRuleError);
    // payout.failed of a payout id that holds nothing: nothing to give back.
    expect(await release(db, hold)).toEqual({ status: 'already_applied' });
    expect(await writtenFor([sellerId], payoutId)).toEqual(marked);
  });
});

describe('GET /internal/reservations/held', () => {
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

describe('GET /internal/balances', () => {
  const CURRENCIES = ['EUR', 'GBP', 'USD'] as const;
  /** Bound on the pages one listing may take: a cursor that never ends fails the test. */
  const LISTING_PAGES_MAX = 200;

  interface Listed {
    sellerId: string;
    currency: string;
    availableMinor: string;
  }

  const keyOf = (entry: { sellerId: string; currency: string }) => `${entry.sellerId}/${entry.currency}`;
  const pad = (n: number) => String(n).padStart(2, '0');

  /**
   * Follows nextCursor from the first page until it is null, as the payouts' scheduled run does;
   * `between` runs after each page that has a next one (the balances may change meanwhile).
   */
  async function listAll(query: string, between?: (pagesRead: number, listed: readonly Listed[]) => Promise<void>): Promise<{ listed: Listed[]; pages: number }> {
    const listed: Listed[] = [];
    let after: string | null = null;
    for (let pages = 1; pages <= LISTING_PAGES_MAX; pages++) {
      const answer = await get(`/internal/balances?${query}${after === null ? '' : `&after=${after}`}`);
      expect(answer.status).toBe(200);
      const page = answer.json as unknown as { balances: Listed[]; nextCursor: string | null };
      listed.push(...page.balances);
      if (page.nextCursor === null) return { listed, pages };
      expect(page.nextCursor).not.toBe(after);
      after = page.nextCursor;
      await between?.(pages, listed);
    }
    throw new Error(`the balances did not end within ${LISTING_PAGES_MAX} pages`);
  }

  /** Seller ids here are ASCII, so the database's (seller, currency) order is JavaScript's. */
  function expectStrictlyAscending(listed: readonly Listed[]): void {
    const outOfOrder = listed.filter((entry, i) => {
      const previous = listed[i - 1];
      if (!previous) return false;
      return previous.sellerId > entry.sellerId || (previous.sellerId === entry.sellerId && previous.currency >= entry.currency);
    });
    expect(outOfOrder).toEqual([]);
  }

  function sortedByKey(entries: readonly Listed[]): Listed[] {
    return [...entries].sort((a, b) => (a.sellerId === b.sellerId ? (a.currency < b.currency ? -1 : 1) : a.sellerId < b.sellerId ? -1 : 1));
  }

  async function walletSnapshot(): Promise<unknown> {
    return db.$queryRawUnsafe(
      `SELECT (SELECT count(*) FROM wallet_balances)::int AS balances,
              (SELECT coalesce(sum(version), 0) FROM wallet_balances)::int AS versions,
              (SELECT count(*) FROM wallet_movements)::int AS movements,
              (SELECT count(*) FROM wallet_reservations)::int AS reservations,
              (SELECT count(*) FROM outbox_messages)::int AS outbox`,
    );
  }

  it('lists every balance at or over the minimum exactly once, in seller and currency order, across pages and currencies', async () => {
    const sellers = Array.from({ length: 14 }, (_, i) => `pgall${pad(i + 1)}`);
    // Every seller has three currencies; every other seller's GBP is under the minimum.
    const credits: Credit[] = sellers.flatMap((sellerId, i) =>
      CURRENCIES.map((currency) => ({ sellerId, currency, availableMinor: currency === 'GBP' && i % 2 === 1 ? 50n : BigInt(1_000 + i) })),
    );
    await creditAvailable(credits, 'pgall');
    const expected = sortedByKey(credits.filter((c) => c.availableMinor >= 100n).map((c) => ({ ...c, availableMinor: c.availableMinor.toString() })));

    const { listed, pages } = await listAll('minAvailableMinor=100&limit=4');
    expect(pages).toBeGreaterThanOrEqual(Math.ceil(expected.length / 4));
    expectStrictlyAscending(listed);
    expect(listed.filter((b) => BigInt(b.availableMinor) < 100n)).toEqual([]);
    expect(listed.filter((b) => b.sellerId.startsWith('pgall'))).toEqual(expected);
    // The same listing as one page.
    expect((await listAll('minAvailableMinor=100&limit=1000')).listed).toEqual(listed);
  });

  it('finds the balances over the minimum among many more wallets under it', async () => {
    // 1,250 wallets, one in 250 over the minimum: more wallets than the route reads at once.
    const credits: Credit[] = Array.from({ length: 1_250 }, (_, i) => ({
      sellerId: `pgsparse${String(i).padStart(4, '0')}`,
      currency: 'USD',
      availableMinor: i % 250 === 249 ? 900_000n : 10n,
    }));
    await creditAvailable(credits, 'pgsparse');
    const { listed } = await listAll('minAvailableMinor=800000&limit=2');
    expectStrictlyAscending(listed);
    expect(listed.filter((b) => b.sellerId.startsWith('pgsparse')).map((b) => b.sellerId)).toEqual(['pgsparse0249', 'pgsparse0499', 'pgsparse0749', 'pgsparse0999', 'pgsparse1249']);
  });

  it('keeps each payable balance exactly once when balances change and sellers appear between pages', async () => {
    const MIN = 500_000n;
    const sellers = Array.from({ length: 12 }, (_, i) => `pgmove${pad(i + 1)}`);
    await creditAvailable(sellers.flatMap((sellerId) => CURRENCIES.map((currency) => ({ sellerId, currency, availableMinor: 1_000_000n }))), 'pgmove');
    const drainAll = async (sellerId: string, currency: string) =>
      expect((await post('/internal/reservations', { payoutId: `payout_drain_${sellerId}_${currency}`, sellerId, currency, amountMinor: null, minAmountMinor: '1' })).status).toBe(200);

    let changedAfter: readonly Listed[] = [];
    const { listed } = await listAll(`minAvailableMinor=${MIN}&limit=5`, async (pagesRead, soFar) => {
      if (pagesRead !== 1) return;
      changedAfter = [...soFar];
      // The first page ends inside pgmove02 (pgmove01 EUR, GBP, USD, pgmove02 EUR, GBP): between
      // pages a listed balance is paid out, an unlisted one too, another grows, and new sellers
      // appear before the cursor, right after it and at the end. Offset paging would now repeat
      // or skip entries.
      await drainAll('pgmove01', 'USD');
      await drainAll('pgmove10', 'EUR');
      await creditAvailable([{ sellerId: 'pgmove11', currency: 'GBP', availableMinor: 500n }], 'pgmove_topup');
      await creditAvailable(
        ['pgmove00', 'pgmove02a', 'pgmove99'].flatMap((sellerId) => CURRENCIES.map((currency) => ({ sellerId, currency, availableMinor: 2_000_000n }))),
        'pgmove_new',
      );
    });
    expect(changedAfter.map(keyOf)).toEqual(['pgmove01/EUR', 'pgmove01/GBP', 'pgmove01/USD', 'pgmove02/EUR', 'pgmove02/GBP']);

    expectStrictlyAscending(listed);
    const ours = listed.filter((b) => b.sellerId.startsWith('pgmove'));
    const amountOf = (sellerId: string, currency: string) => (sellerId === 'pgmove11' && currency === 'GBP' ? '1000500' : sellerId === 'pgmove02a' || sellerId === 'pgmove99' ? '2000000' : '1000000');
    const expected = sortedByKey(
      [...sellers, 'pgmove02a', 'pgmove99']
        .flatMap((sellerId) => CURRENCIES.map((currency) => ({ sellerId, currency, availableMinor: amountOf(sellerId, currency) })))
        // Paid out before the listing reached it.
        .filter((b) => keyOf(b) !== 'pgmove10/EUR'),
    );
    // pgmove00 appeared behind the cursor: the next run lists it.
    expect(ours).toEqual(expected);
  });

  it('refuses a malformed or foreign cursor and a bad limit or minimum with 400, and writes nothing', async () => {
    await seedAvailable('pgbad01', 5_000n);
    await seedAvailable('pgbad02', 5_000n);
    const first = await get('/internal/balances?minAvailableMinor=1&limit=1');
    expect(first.status).toBe(200);
    const cursor = String(first.json.nextCursor);
    // A cursor of the held-reservations route, given to this one.
    expect((await post('/internal/reservations', { payoutId: 'payout_pgbad_held', sellerId: 'pgbad01', currency: 'USD', amountMinor: '100', minAmountMinor: '1' })).status).toBe(200);
    await ageMinutes('payout_pgbad_held', 60 * 24 * 365);
    const held = await get('/internal/reservations/held?olderThanMs=60000&limit=1');
    const heldCursor = String(held.json.nextCursor);
    expect(heldCursor).toMatch(/^[A-Za-z0-9_-]+$/);

    const before = await walletSnapshot();
    const refused: [string, string][] = [
      [`after=${heldCursor}`, 'after'],
      ['after=not-a-cursor', 'after'],
      ['after=', 'after'],
      [`after=${cursor}x`, 'after'],
      [`after=${cursor}%2B%2F`, 'after'],
      [`after=${Buffer.from('pgbad01', 'utf8').toString('base64url')}`, 'after'],
      [`after=${Buffer.from('pgbad01\nusd', 'utf8').toString('base64url')}`, 'after'],
      [`after=${Buffer.from('pgbad01\nUSD', 'utf8').toString('base64url')}`, 'after'],
      [`after=${Buffer.from('\nUSD', 'utf8').toString('base64url')}`, 'after'],
      [`after=${'A'.repeat(2_000)}`, 'after'],
      ['limit=0', 'limit'],
      ['limit=1001', 'limit'],
      ['limit=ten', 'limit'],
      ['limit=2.5', 'limit'],
      ['minAvailableMinor=-1', 'minAvailableMinor'],
      ['minAvailableMinor=1e3', 'minAvailableMinor'],
    ];
    const answers = [];
    for (const [query] of refused) {
      const answer = await get(`/internal/balances?${query}`);
      answers.push({ query, status: answer.status, error: answer.json.error });
    }
    expect(answers).toEqual(refused.map(([query, param]) => ({ query, status: 400, error: expect.stringMatching(new RegExp(`^${param}: `)) })));
    expect((await get('/internal/balances?minAvailableMinor=1', false)).status).toBe(401);
    expect(await walletSnapshot()).toEqual(before);
    // The cursor this route returned still works.
    expect((await get(`/internal/balances?minAvailableMinor=1&limit=1&after=${cursor}`)).status).toBe(200);
  });
});
