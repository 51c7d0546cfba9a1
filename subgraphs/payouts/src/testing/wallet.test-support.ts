// The real wallet subgraph's signed internal routes (reservations, releases, balances: the contract
// in clients/wallet.ts), served in-process on the wallet's own migrated test database
// (createTestDatabase('wallet')), mounted exactly as the wallet's app.ts and its own
// graphql/internal-routes.test.ts mount them. Only the routes: the wallet's consumers of
// payout.paid/failed are not started, so a reservation stays held after its payout is paid.
//
// A seller's balance is credited the way the wallet's consumers credit it: applyWalletChanges
// (movement, balance increment and outbox rows in one transaction) with a delivered order's
// change, as the wallet's own route tests seed it.
import { randomUUID } from 'node:crypto';
import {
  createLogger, createPgDatabase, startHttpService, type HttpService, type PgDatabase, type RawRoute, type SqlClient,
} from '@clearhouse/shared';
import { createTestDatabase, type TestDatabase } from '@clearhouse/shared/testkit';

// The wallet lives in another workspace; loaded at run time (jest transpiles it), typed
// structurally so this workspace's typecheck never compiles its sources.
interface WalletRoutesModule {
  walletInternalRoutes(db: PgDatabase, signingSecret: string): RawRoute[];
}
interface WalletChangesModule {
  applyWalletChanges(
    tx: SqlClient,
    changes: readonly { sellerId: string; currency: string; kind: 'order_delivered'; delta: { pendingDeltaMinor: bigint; availableDeltaMinor: bigint; reservedDeltaMinor: bigint } }[],
    cause: { causationKey: string; correlationId: string | null; at: Date },
  ): Promise<unknown>;
}
interface WalletReservationsModule {
  reserveInTx(tx: SqlClient, hold: { payoutId: string; sellerId: string; currency: string; amountMinor: bigint; at: Date; causationEventId?: string }): Promise<unknown>;
}
interface WalletStoreModule {
  findWallet(db: SqlClient, sellerId: string, currency: string): Promise<{ availableMinor: bigint; reservedMinor: bigint } | undefined>;
}
/* eslint-disable @typescript-eslint/no-require-imports */
const walletRoutes = require('../../../wallet/src/graphql/internal-routes.ts') as WalletRoutesModule;
const walletChanges = require('../../../wallet/src/application/apply-changes.ts') as WalletChangesModule;
const walletStore = require('../../../wallet/src/persistence/wallet-store.ts') as WalletStoreModule;
const walletReservations = require('../../../wallet/src/application/reservations.ts') as WalletReservationsModule;
/* eslint-enable @typescript-eslint/no-require-imports */

/** Connections of the wallet's pool: the concurrency tests send 20 reservations at once. */
const WALLET_POOL_MAX = 10;
/** The longest a test may hold a balance row (holdBalanceRow, reserveMeanwhile). */
const HOLD_MS_MAX = 60_000;
/** Bound on polling for a request to wait on a lock: 400 × 25 ms. */
const LOCK_WAIT_POLLS_MAX = 400;

export interface WalletService {
  /** Base URL of the internal routes (WALLET_INTERNAL_URL). */
  url: string;
  /** Credits `amountMinor` to the seller's available balance (a delivered order's net). */
  credit(sellerId: string, currency: string, amountMinor: bigint): Promise<void>;
  balance(sellerId: string, currency: string): Promise<{ availableMinor: bigint; reservedMinor: bigint }>;
  /** The reservation's status (held, released, consumed), or null when there is none. */
  reservationStatus(payoutId: string): Promise<string | null>;
  /** Moves the reservation's creation `ageMs` into the past, as if it had been taken that long ago. */
  ageReservation(payoutId: string, ageMs: number): Promise<void>;
  /**
   * Locks the seller's balance row from another session, as a long transaction of the wallet
   * would: the wallet's reservations for that seller wait on it (the payouts client times out)
   * until `release`, after which a waiting reservation goes through. Other sellers are unaffected.
   */
  holdBalanceRow(sellerId: string, currency: string): Promise<{ release(): Promise<void> }>;
  /**
   * Reserves the payout id as the wallet's payout.requested consumer does (reserveInTx in its own
   * transaction, without the payout id's lock) and keeps that transaction open while `during`
   * runs, until `during` waits on a lock of the wallet's database (its reservation of the same
   * seller's balance) or answers; then commits, and answers what `during` answered.
   */
  reserveMeanwhile<T>(hold: { payoutId: string; sellerId: string; currency: string; amountMinor: bigint }, during: () => Promise<T>): Promise<T>;
  stop(): Promise<void>;
}

export async function startWalletService(signingSecret: string): Promise<WalletService> {
  const database: TestDatabase = await createTestDatabase('wallet');
  const db = createPgDatabase(database.url, { poolMax: WALLET_POOL_MAX });
  let http: HttpService;
  try {
    http = await startHttpService({
      service: 'wallet',
      port: 0,
      host: '127.0.0.1',
      logger: createLogger({ service: 'wallet', level: 'silent' }),
      routes: walletRoutes.walletInternalRoutes(db, signingSecret),
      readiness: async () => ({}),
    });
  } catch (error) {
    await db.end();
    await database.drop();
    throw error;
  }
  return {
    url: http.url,
    async credit(sellerId, currency, amountMinor) {
      await db.$transaction((tx) =>
        walletChanges.applyWalletChanges(
          tx,
          [{ sellerId, currency, kind: 'order_delivered', delta: { pendingDeltaMinor: 0n, availableDeltaMinor: amountMinor, reservedDeltaMinor: 0n } }],
          { causationKey: `order_delivered:test_${randomUUID()}`, correlationId: null, at: new Date() },
        ),
      );
    },
    async balance(sellerId, currency) {
      const wallet = await walletStore.findWallet(db, sellerId, currency);
      return { availableMinor: wallet?.availableMinor ?? 0n, reservedMinor: wallet?.reservedMinor ?? 0n };
    },
    async reservationStatus(payoutId) {
      const rows = await db.$queryRawUnsafe<{ status: string }[]>('SELECT status FROM wallet_reservations WHERE id = $1', payoutId);
      return rows[0]?.status ?? null;
    },
    async ageReservation(payoutId, ageMs) {
      const updated = await db.$executeRawUnsafe(`UPDATE wallet_reservations SET created_at = now() - ($2::bigint * interval '1 millisecond') WHERE id = $1`, payoutId, ageMs);
      if (updated !== 1) throw new Error(`no reservation ${payoutId} to age`);
    },
    async holdBalanceRow(sellerId, currency) {
      // Its own one-connection pool: the lock stays on that session until the transaction ends.
      const session = createPgDatabase(database.url, { poolMax: 1 });
      let letGo: () => void = () => undefined;
      const released = new Promise<void>((resolve) => { letGo = resolve; });
      let lockTaken: (rows: number) => void = () => undefined;
      const taken = new Promise<number>((resolve) => { lockTaken = resolve; });
      const holding = session.$transaction(
        async (tx) => {
          const rows = await tx.$queryRawUnsafe<unknown[]>('SELECT 1 FROM wallet_balances WHERE seller_id = $1 AND currency = $2 FOR UPDATE', sellerId, currency);
          lockTaken(rows.length);
          await released;
        },
        { timeout: HOLD_MS_MAX },
      );
      const locked = await Promise.race([taken, holding.then(() => 0)]);
      if (locked !== 1) {
        letGo();
        await holding.catch(() => undefined);
        await session.end();
        throw new Error(`no balance of ${sellerId} ${currency} to hold`);
      }
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
    },
    async reserveMeanwhile<T>(hold: { payoutId: string; sellerId: string; currency: string; amountMinor: bigint }, during: () => Promise<T>): Promise<T> {
      const lockWaiters = async (): Promise<number> => {
        const rows = await db.$queryRawUnsafe<{ n: string }[]>(`SELECT count(*)::text AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`);
        return Number(rows[0]?.n ?? 0);
      };
      const waitersBefore = await lockWaiters();
      const session = createPgDatabase(database.url, { poolMax: 1 });
      let commit: () => void = () => undefined;
      const committing = new Promise<void>((resolve) => { commit = resolve; });
      let reserved: () => void = () => undefined;
      const isReserved = new Promise<void>((resolve) => { reserved = resolve; });
      const consumer = session.$transaction(
        async (tx) => {
          await walletReservations.reserveInTx(tx, { ...hold, at: new Date(), causationEventId: `test_${randomUUID()}` });
          reserved();
          await committing;
        },
        { timeout: HOLD_MS_MAX },
      );
      let answered = false;
      let running: Promise<T> | undefined;
      try {
        await Promise.race([isReserved, consumer]);
        running = during();
        void running.then(() => { answered = true; }, () => { answered = true; });
        let waited = false;
        for (let poll = 0; poll < LOCK_WAIT_POLLS_MAX && !answered && !waited; poll += 1) {
          waited = (await lockWaiters()) > waitersBefore;
          if (!waited) await new Promise((resolve) => setTimeout(resolve, 25));
        }
        if (!waited && !answered) throw new Error(`the request never waited on the reservation of ${hold.payoutId}`);
      } finally {
        commit();
        try {
          await consumer;
        } finally {
          await session.end();
        }
      }
      if (running === undefined) throw new Error(`the reservation of ${hold.payoutId} was not taken`);
      return running;
    },
    async stop() {
      try {
        await http.close();
        await db.end();
      } finally {
        await database.drop();
      }
    },
  };
}
