// Set-based wallet changes against the real PostgreSQL: a batch has exactly the effect of its
// causes applied one by one (balances, versions, movements, outbox events and their order), a
// cause met again inside a batch or in a later one moves nothing, and the guards of the one-by-one
// path (available funds, reserved never negative) still hold.
import { createPgDatabase, type PgDatabase } from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';
import type { WalletChange, WalletMovementKind } from '../domain/index.js';
import { WalletRuleError } from '../domain/index.js';
import { findWallet, findWallets } from '../persistence/wallet-store.js';
import { applyWalletChangeBatch, applyWalletChanges, applyWalletChangesOneByOne, type CausedChanges, type ChangeCause } from './apply-changes.js';

jest.setTimeout(60_000);

const AT = new Date('2025-03-01T10:00:00.000Z');

interface WalletDb {
  readonly database: TestDatabase;
  readonly db: PgDatabase;
}

const opened: WalletDb[] = [];

async function openWalletDb(): Promise<PgDatabase> {
  const database = await createTestDatabase('wallet');
  const db = createPgDatabase(database.url, { poolMax: 4 });
  opened.push({ database, db });
  return db;
}

afterAll(async () => {
  for (const { database, db } of opened) {
    await db.end();
    await database.drop();
  }
});

function change(sellerId: string, kind: WalletMovementKind, pendingDeltaMinor: bigint, availableDeltaMinor: bigint, reservedDeltaMinor = 0n, currency = 'USD'): WalletChange {
  return { sellerId, currency, kind, delta: { pendingDeltaMinor, availableDeltaMinor, reservedDeltaMinor } };
}

function paymentCause(paymentId: string, messageId: string): ChangeCause {
  return { causationKey: `payment_succeeded:${paymentId}`, causationEventId: messageId, correlationId: paymentId, paymentId, at: AT };
}

function caused(cause: ChangeCause, ...changes: WalletChange[]): CausedChanges {
  return { cause, changes };
}

/** A payment's changes: each seller's pending += net. */
function payment(paymentId: string, messageId: string, nets: Record<string, bigint>, currency = 'USD'): CausedChanges {
  return caused(paymentCause(paymentId, messageId), ...Object.entries(nets).map(([sellerId, net]) => change(sellerId, 'payment_succeeded', net, 0n, 0n, currency)));
}

interface OutboxRow {
  routing_key: string;
  correlation_id: string;
  payload: Record<string, unknown>;
}

/** The outbox in insertion order (ctid: one writer, no deletes, so the heap order is the write order). */
async function outbox(db: PgDatabase): Promise<OutboxRow[]> {
  return db.$queryRawUnsafe<OutboxRow[]>(`SELECT routing_key, correlation_id, payload FROM outbox_messages ORDER BY ctid`);
}

async function movements(db: PgDatabase): Promise<unknown[]> {
  return db.$queryRawUnsafe(
    `SELECT seller_id, currency, kind, pending_delta_minor::text AS p, available_delta_minor::text AS a, reserved_delta_minor::text AS r, causation_event_id, correlation_id, at
       FROM wallet_movements ORDER BY causation_event_id, kind, seller_id, currency`,
  );
}

async function balances(db: PgDatabase): Promise<unknown[]> {
  const rows = await db.$queryRawUnsafe<{ seller_id: string }[]>(`SELECT DISTINCT seller_id FROM wallet_balances ORDER BY seller_id`);
  const wallets = (await Promise.all(rows.map((row) => findWallets(db, row.seller_id)))).flat();
  return wallets.map(({ updatedAt: _updatedAt, ...wallet }) => wallet);
}

/** The payload without its `at` (a timeline event's: its entries'): two databases ran at different times. */
function withoutAt(row: OutboxRow): unknown {
  const { at: _at, ...payload } = row.payload;
  if (Array.isArray(payload.entries)) payload.entries = payload.entries.map(({ at: _entryAt, ...entry }: Record<string, unknown>) => entry);
  return { routingKey: row.routing_key, correlationId: row.correlation_id, payload };
}

// Seller A starts with 7,000 available and 3,000 reserved for payout po_1 (version 3).
async function seed(db: PgDatabase): Promise<void> {
  await db.$transaction(async (tx) => {
    await applyWalletChanges(tx, [change('A', 'payment_succeeded', 10_000n, 0n)], paymentCause('pay_0', 'm_pay_0'));
    await applyWalletChanges(tx, [change('A', 'order_delivered', -10_000n, 10_000n)], { causationKey: 'order_delivered:po_0', correlationId: 'pay_0', paymentId: 'pay_0', at: AT });
    const reservation: WalletChange = { ...change('A', 'payout_requested', 0n, -3_000n, 3_000n), requiresAvailableMinor: 3_000n };
    await applyWalletChanges(tx, [reservation], { causationKey: 'payout_requested:po_1', correlationId: 'po_1', at: AT });
  });
}

/** Several causes for the same sellers, a cause met twice (with one seller more), several currencies. */
const BATCH: readonly CausedChanges[] = [
  payment('pay_1', 'm_pay_1', { B: 2_000n, A: 1_000n }),
  payment('pay_2', 'm_pay_2', { A: 500n, C: 700n }),
  caused({ causationKey: 'order_delivered:pay_1_po_a', causationEventId: 'm_del_1', correlationId: 'pay_1', paymentId: 'pay_1', at: AT }, change('A', 'order_delivered', -1_000n, 1_000n)),
  caused({ causationKey: 'payout_paid:po_1', causationEventId: 'm_paid_1', correlationId: 'po_1', at: AT }, change('A', 'payout_paid', 0n, 0n, -3_000n)),
  // pay_1 published again under a new message id, now with seller D: only D moves.
  payment('pay_1', 'm_pay_1_again', { B: 2_000n, A: 1_000n, D: 300n }),
  caused({ causationKey: 'refund_succeeded:re_1', causationEventId: 'm_re_1', correlationId: 'pay_1', paymentId: 'pay_1', at: AT }, change('B', 'refund_succeeded', -2_000n, 0n)),
  caused({ causationKey: 'dispute_opened:dp_1', causationEventId: 'm_dp_1', correlationId: 'pay_2', paymentId: 'pay_2', at: AT }, change('A', 'dispute_opened', -500n, -9_000n)),
  payment('pay_3', 'm_pay_3', { A: 100n }, 'EUR'),
  payment('pay_4', 'm_pay_4', { C: 1n, A: 2n }),
];

describe('applyWalletChangeBatch', () => {
  it('gives the balances, versions, movements and outbox events (in order) of applying the causes one by one', async () => {
    const [oneByOneDb, batchedDb] = await Promise.all([openWalletDb(), openWalletDb()]);
    await Promise.all([seed(oneByOneDb), seed(batchedDb)]);

    const oneByOne = await oneByOneDb.$transaction(async (tx) => {
      const results = [];
      for (const item of BATCH) results.push(await applyWalletChangesOneByOne(tx, item.changes, item.cause));
      return results;
    });
    const batched = await batchedDb.$transaction((tx) => applyWalletChangeBatch(tx, BATCH));

    const comparable = (results: typeof batched) => results.map((applied) => applied.map(({ change, wallet }) => ({ change, wallet: wallet && { ...wallet, updatedAt: undefined } })));
    expect(comparable(batched)).toEqual(comparable(oneByOne));
    expect(batched.map((applied) => applied.map(({ wallet }) => wallet?.version))).toEqual([[4, 1], [5, 1], [6], [7], [undefined, undefined, 1], [2], [8], [1], [9, 2]]);
    expect(await balances(batchedDb)).toEqual(await balances(oneByOneDb));
    expect(await findWallet(batchedDb, 'A', 'USD')).toMatchObject({ pendingMinor: 2n, availableMinor: -1_000n, reservedMinor: 0n, version: 9 });
    expect(await movements(batchedDb)).toEqual(await movements(oneByOneDb));

    const batchedOutbox = await outbox(batchedDb);
    expect(batchedOutbox.map(withoutAt)).toEqual((await outbox(oneByOneDb)).map(withoutAt));
    // 12 fresh changes after the seed's 3: a balance event each; one timeline event per cause of a
    // payment that moved something (2 in the seed, 8 in the batch: not the payout's, and pay_1's
    // second publication moved only D), with an entry per change (2 + 11).
    expect(batchedOutbox.filter((row) => row.routing_key === 'wallet.balance_changed')).toHaveLength(3 + 12);
    const timeline = batchedOutbox.filter((row) => row.routing_key === 'timeline.recorded');
    expect(timeline).toHaveLength(2 + 8);
    const entries = timeline.map((row) => (row.payload.entries as { data: { sellerId: string } }[]).map((entry) => entry.data.sellerId));
    expect(entries.flat()).toHaveLength(2 + 11);
    // pay_1's first publication: its two sellers in one event, in lock order.
    expect(timeline[2]).toMatchObject({ correlation_id: 'pay_1' });
    expect(entries[2]).toEqual(['A', 'B']);
    // `at` is the row's updated_at, as before.
    const walletA = await findWallet(batchedDb, 'A', 'USD');
    const lastOfA = batchedOutbox.filter((row) => row.routing_key === 'wallet.balance_changed' && row.payload.sellerId === 'A' && row.payload.currency === 'USD').at(-1);
    expect(lastOfA?.payload).toMatchObject({ version: 9, pendingMinor: '2', availableMinor: '-1000', reservedMinor: '0', at: walletA?.updatedAt.toISOString() });
  });

  it('moves nothing for a cause met again, inside a batch or in a later one', async () => {
    const db = await openWalletDb();
    const first = await db.$transaction((tx) =>
      applyWalletChangeBatch(tx, [payment('pay_10', 'm_10', { R: 100n, S: 200n }), payment('pay_11', 'm_11', { R: 50n }), payment('pay_10', 'm_10_again', { R: 100n, S: 200n })]),
    );
    expect(first.map((applied) => applied.map(({ wallet }) => wallet?.version))).toEqual([[1, 1], [2], [undefined, undefined]]);
    expect(await findWallet(db, 'R', 'USD')).toMatchObject({ pendingMinor: 150n, version: 2 });
    expect(await findWallet(db, 'S', 'USD')).toMatchObject({ pendingMinor: 200n, version: 1 });
    // Three fresh changes, a balance event each, and a timeline event per payment that moved something.
    expect(await outbox(db)).toHaveLength(3 + 2);

    const second = await db.$transaction((tx) => applyWalletChangeBatch(tx, [payment('pay_11', 'm_11_again', { R: 50n }), payment('pay_12', 'm_12', { S: 5n })]));
    expect(second.map((applied) => applied.map(({ wallet }) => wallet?.version))).toEqual([[undefined], [2]]);
    const third = await db.$transaction((tx) => applyWalletChangeBatch(tx, [payment('pay_10', 'm_10_third', { R: 100n, S: 200n })]));
    expect(third).toEqual([[expect.objectContaining({ wallet: undefined }), expect.objectContaining({ wallet: undefined })]]);

    expect(await findWallet(db, 'R', 'USD')).toMatchObject({ pendingMinor: 150n, version: 2 });
    expect(await findWallet(db, 'S', 'USD')).toMatchObject({ pendingMinor: 205n, version: 2 });
    expect(await movements(db)).toHaveLength(4);
    expect(await outbox(db)).toHaveLength(4 + 3);
  });

  it('lets concurrent batches over the same sellers run without deadlock or lost update; versions stay gapless', async () => {
    const db = await openWalletDb();
    const sellers = ['K1', 'K2', 'K3', 'K4', 'K5', 'K6'];
    // Each batch meets the sellers in another order (a payment names them as it likes).
    const batches = Array.from({ length: 8 }, (_, batchIndex) =>
      Array.from({ length: 30 }, (_, index) => {
        const first = sellers[(batchIndex + index) % sellers.length] as string;
        const second = sellers[(batchIndex * 5 + index * 2 + 1) % sellers.length] as string;
        return payment(`pay_k_${batchIndex}_${index}`, `m_k_${batchIndex}_${index}`, first === second ? { [first]: 3n } : { [second]: 1n, [first]: 2n });
      }),
    );
    await Promise.all(batches.map((batch) => db.$transaction((tx) => applyWalletChangeBatch(tx, batch), { timeout: 30_000 })));

    const changes = batches.flat().flatMap((item) => item.changes);
    for (const sellerId of sellers) {
      const mine = changes.filter((candidate) => candidate.sellerId === sellerId);
      const pending = mine.reduce((sum, candidate) => sum + candidate.delta.pendingDeltaMinor, 0n);
      expect(await findWallet(db, sellerId, 'USD')).toMatchObject({ pendingMinor: pending, version: mine.length });
      const versions = (await outbox(db)).filter((row) => row.routing_key === 'wallet.balance_changed' && row.payload.sellerId === sellerId).map((row) => row.payload.version as number);
      expect(versions.sort((a, b) => a - b)).toEqual(Array.from({ length: mine.length }, (_, index) => index + 1));
    }
  });

  it('locks the wallets of a batch in (seller, currency) order, whatever order the changes come in', async () => {
    const db = await openWalletDb();
    // Created out of order, so neither the table's physical order nor the batch's is the sorted one.
    for (const sellerId of ['L4', 'L2', 'L5', 'L1', 'L3']) await db.$transaction((tx) => applyWalletChangeBatch(tx, [payment(`pay_l_${sellerId}`, `m_l_${sellerId}`, { [sellerId]: 1n })]));

    let release = (): void => undefined;
    const released = new Promise<void>((resolve) => (release = resolve));
    let lockTaken = (): void => undefined;
    const locked = new Promise<void>((resolve) => (lockTaken = resolve));
    const holder = db.$transaction(
      async (tx) => {
        await tx.$queryRawUnsafe(`SELECT 1 FROM wallet_balances WHERE seller_id = 'L3' FOR UPDATE`);
        lockTaken();
        await released;
      },
      { timeout: 30_000 },
    );
    await locked;
    const batch = db.$transaction((tx) => applyWalletChangeBatch(tx, [payment('pay_l_all', 'm_l_all', { L5: 1n, L4: 1n }), payment('pay_l_all_2', 'm_l_all_2', { L2: 1n, L3: 1n, L1: 1n })]), { timeout: 30_000 });
    try {
      for (let attempt = 0; attempt < 200; attempt++) {
        const waiting = await db.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        if (Number(waiting[0]?.n) > 0) break;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      const lockable = async (sellerId: string): Promise<boolean> =>
        db.$transaction(async (tx) => tx.$queryRawUnsafe(`SELECT 1 FROM wallet_balances WHERE seller_id = $1 FOR UPDATE NOWAIT`, sellerId)).then(
          () => true,
          () => false,
        );
      // The batch holds L1 and L2 and waits for L3; it has not touched L4 and L5.
      expect(await Promise.all(['L1', 'L2', 'L3', 'L4', 'L5'].map(lockable))).toEqual([false, false, false, true, true]);
    } finally {
      release();
      await holder;
    }
    await batch;
    expect(await findWallet(db, 'L4', 'USD')).toMatchObject({ pendingMinor: 2n, version: 2 });
  });

  it('refuses a batch whose reservation does not fit the available balance, writing nothing', async () => {
    const db = await openWalletDb();
    const reservation = (payoutId: string, amountMinor: bigint): CausedChanges =>
      caused({ causationKey: `payout_requested:${payoutId}`, correlationId: payoutId, at: AT }, { ...change('F', 'payout_requested', 0n, -amountMinor, amountMinor), requiresAvailableMinor: amountMinor });
    const funded = caused({ causationKey: 'order_delivered:po_f', correlationId: 'pay_f', paymentId: 'pay_f', at: AT }, change('F', 'order_delivered', 0n, 1_000n));

    const refused = db.$transaction((tx) => applyWalletChangeBatch(tx, [payment('pay_g', 'm_g', { G: 10n }), funded, reservation('po_f1', 600n), reservation('po_f2', 600n)]));
    await expect(refused).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await expect(refused).rejects.toBeInstanceOf(WalletRuleError);
    expect(await findWallet(db, 'F', 'USD')).toBeUndefined();
    expect(await findWallet(db, 'G', 'USD')).toBeUndefined();
    expect(await outbox(db)).toHaveLength(0);

    await db.$transaction((tx) => applyWalletChangeBatch(tx, [funded, reservation('po_f1', 600n), reservation('po_f2', 400n)]));
    expect(await findWallet(db, 'F', 'USD')).toMatchObject({ availableMinor: 0n, reservedMinor: 1_000n, version: 3 });
  });

  it('refuses a batch in which reserved would go negative on the way, even if it ends at zero', async () => {
    const db = await openWalletDb();
    // Settling before reserving: one by one, the first UPDATE would break the row check.
    const batch = [
      caused({ causationKey: 'payout_paid:po_e', correlationId: 'po_e', at: AT }, change('E', 'payout_paid', 0n, 0n, -100n)),
      caused({ causationKey: 'payout_requested:po_e', correlationId: 'po_e', at: AT }, change('E', 'payout_requested', 0n, -100n, 100n)),
    ];
    await expect(db.$transaction((tx) => applyWalletChangeBatch(tx, batch))).rejects.toThrow('wallet E/USD reserved went negative');
    expect(await findWallet(db, 'E', 'USD')).toBeUndefined();
    expect(await movements(db)).toHaveLength(0);
  });
});
