// Wallet rows in PostgreSQL (protocol: prisma/wallet/schema.prisma). Every balance change is an
// increment in the database under the row lock (one UPDATE per change, or for a batch one UPDATE
// adding each wallet's summed changes: incrementWallets); a reservation is a conditional UPDATE
// (available_minor >= amount), so concurrent reservations can never overdraw the wallet.
import { randomUUID } from 'node:crypto';
import type { SqlClient } from '@clearhouse/shared';
import { isReleaseMarker, type ReservationStatus, type StoredReservation, type WalletBalance, type WalletChange, type WalletDelta, type WalletReservation } from '../domain/index.js';

export interface StoredWallet extends WalletBalance {
  readonly version: number;
  readonly updatedAt: Date;
}

interface WalletRow {
  seller_id: string;
  currency: string;
  pending_minor: string;
  available_minor: string;
  reserved_minor: string;
  version: number;
  updated_at: Date;
}

const WALLET_COLUMNS = `seller_id, currency, pending_minor::text AS pending_minor, available_minor::text AS available_minor,
  reserved_minor::text AS reserved_minor, version, updated_at`;

function walletOf(row: WalletRow): StoredWallet {
  return {
    sellerId: row.seller_id,
    currency: row.currency,
    pendingMinor: BigInt(row.pending_minor),
    availableMinor: BigInt(row.available_minor),
    reservedMinor: BigInt(row.reserved_minor),
    version: Number(row.version),
    updatedAt: new Date(row.updated_at),
  };
}

export interface MovementRecord {
  /** What caused it, unique per (kind, seller, currency): e.g. 'payment_succeeded:<paymentId>'. */
  readonly causationKey: string;
  readonly correlationId: string | null;
  readonly at: Date;
}

/** Records the movement; false when this cause already moved this wallet (a redelivery). */
export async function insertMovement(tx: SqlClient, change: WalletChange, record: MovementRecord): Promise<boolean> {
  const inserted = await tx.$executeRawUnsafe(
    `INSERT INTO wallet_movements (id, seller_id, currency, kind, pending_delta_minor, available_delta_minor, reserved_delta_minor, causation_event_id, correlation_id, at)
     VALUES ($1::uuid, $2, $3, $4, $5::int8, $6::int8, $7::int8, $8, $9, $10::timestamptz)
     ON CONFLICT (causation_event_id, kind, seller_id, currency) DO NOTHING`,
    randomUUID(),
    change.sellerId,
    change.currency,
    change.kind,
    change.delta.pendingDeltaMinor.toString(),
    change.delta.availableDeltaMinor.toString(),
    change.delta.reservedDeltaMinor.toString(),
    record.causationKey,
    record.correlationId,
    record.at.toISOString(),
  );
  return inserted === 1;
}

/**
 * Adds the delta, creating the wallet at zero first. Two statements rather than one upsert: the
 * BEFORE INSERT row check (reserved >= 0) sees an upsert's proposed row before the conflict.
 */
export async function incrementWallet(tx: SqlClient, change: WalletChange): Promise<StoredWallet> {
  await tx.$executeRawUnsafe(
    `INSERT INTO wallet_balances (seller_id, currency) VALUES ($1, $2) ON CONFLICT (seller_id, currency) DO NOTHING`,
    change.sellerId,
    change.currency,
  );
  const wallet = await updateWallet(tx, change, undefined);
  if (wallet === undefined) throw new Error(`wallet ${change.sellerId}/${change.currency} vanished`);
  return wallet;
}

async function updateWallet(tx: SqlClient, change: WalletChange, requiredAvailableMinor: bigint | undefined): Promise<StoredWallet | undefined> {
  const rows = await tx.$queryRawUnsafe<WalletRow[]>(
    `UPDATE wallet_balances
        SET pending_minor = pending_minor + $3::int8, available_minor = available_minor + $4::int8,
            reserved_minor = reserved_minor + $5::int8, version = version + 1, updated_at = now()
      WHERE seller_id = $1 AND currency = $2 AND ($6::int8 IS NULL OR available_minor >= $6::int8)
     RETURNING ${WALLET_COLUMNS}`,
    change.sellerId,
    change.currency,
    change.delta.pendingDeltaMinor.toString(),
    change.delta.availableDeltaMinor.toString(),
    change.delta.reservedDeltaMinor.toString(),
    requiredAvailableMinor?.toString() ?? null,
  );
  return rows[0] === undefined ? undefined : walletOf(rows[0]);
}

/**
 * Adds the delta only if available_minor >= requiredMinor (under the row lock the UPDATE takes):
 * undefined when the wallet is missing or holds too little.
 */
export function incrementWalletIfAvailable(tx: SqlClient, change: WalletChange, requiredMinor: bigint): Promise<StoredWallet | undefined> {
  return updateWallet(tx, change, requiredMinor);
}

/** One movement of a set-based batch: the change, what caused it, and the row id to give it. */
export interface MovementRow {
  readonly id: string;
  readonly change: WalletChange;
  readonly record: MovementRecord;
}

/**
 * Records many movements in one statement; returns the ids of those that were new. A movement
 * whose (cause, kind, seller, currency) is already stored is skipped, exactly as insertMovement
 * does. The caller passes each key at most once (a key twice in one statement would leave which
 * of the two is kept to the executor).
 */
export async function insertMovements(tx: SqlClient, rows: readonly MovementRow[]): Promise<Set<string>> {
  if (rows.length === 0) return new Set();
  const inserted = await tx.$queryRawUnsafe<{ id: string }[]>(
    `INSERT INTO wallet_movements (id, seller_id, currency, kind, pending_delta_minor, available_delta_minor, reserved_delta_minor, causation_event_id, correlation_id, at)
     SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::int8[], $6::int8[], $7::int8[], $8::text[], $9::text[], $10::timestamptz[])
     ON CONFLICT (causation_event_id, kind, seller_id, currency) DO NOTHING
     RETURNING id::text AS id`,
    rows.map((row) => row.id),
    rows.map((row) => row.change.sellerId),
    rows.map((row) => row.change.currency),
    rows.map((row) => row.change.kind),
    rows.map((row) => row.change.delta.pendingDeltaMinor.toString()),
    rows.map((row) => row.change.delta.availableDeltaMinor.toString()),
    rows.map((row) => row.change.delta.reservedDeltaMinor.toString()),
    rows.map((row) => row.record.causationKey),
    rows.map((row) => row.record.correlationId),
    rows.map((row) => row.record.at.toISOString()),
  );
  return new Set(inserted.map((row) => row.id));
}

export interface WalletKey {
  readonly sellerId: string;
  readonly currency: string;
}

/**
 * Orders wallets by (seller, currency). The lock order itself is decided in SQL (ORDER BY ...
 * COLLATE "C", the same in every batch); this is for matching rows in memory.
 */
export function compareWalletKeys(a: WalletKey, b: WalletKey): number {
  if (a.sellerId !== b.sellerId) return a.sellerId < b.sellerId ? -1 : 1;
  if (a.currency !== b.currency) return a.currency < b.currency ? -1 : 1;
  return 0;
}

/** One wallet's share of a batch: the sum of its fresh changes' deltas and how many there were. */
export interface WalletIncrement extends WalletKey {
  readonly delta: WalletDelta;
  readonly changeCount: number;
}

/**
 * Adds each increment to its wallet in two statements, whatever the number of wallets: the
 * missing wallets are created at zero (as in incrementWallet: the BEFORE INSERT row check would
 * see an upsert's proposed row), then one UPDATE adds the sums and bumps each version by the
 * number of changes. Both take their row locks in (seller, currency) order (ORDER BY ... FOR
 * UPDATE locks in the sorted order), so concurrent batches cannot deadlock on wallets. Returns
 * the wallets after the update, in that order.
 */
export async function incrementWallets(tx: SqlClient, increments: readonly WalletIncrement[]): Promise<StoredWallet[]> {
  if (increments.length === 0) return [];
  const sorted = [...increments].sort(compareWalletKeys);
  const sellerIds = sorted.map((increment) => increment.sellerId);
  const currencies = sorted.map((increment) => increment.currency);
  await tx.$executeRawUnsafe(
    `INSERT INTO wallet_balances (seller_id, currency)
     SELECT seller_id, currency FROM unnest($1::text[], $2::text[]) AS k(seller_id, currency)
      ORDER BY seller_id COLLATE "C", currency COLLATE "C"
     ON CONFLICT (seller_id, currency) DO NOTHING`,
    sellerIds,
    currencies,
  );
  const rows = await tx.$queryRawUnsafe<WalletRow[]>(
    `WITH increment AS MATERIALIZED (
       SELECT d.seller_id, d.currency, d.pending_delta_minor, d.available_delta_minor, d.reserved_delta_minor, d.change_count
         FROM unnest($1::text[], $2::text[], $3::int8[], $4::int8[], $5::int8[], $6::int4[])
              AS d(seller_id, currency, pending_delta_minor, available_delta_minor, reserved_delta_minor, change_count)
         JOIN wallet_balances w ON w.seller_id = d.seller_id AND w.currency = d.currency
        ORDER BY d.seller_id COLLATE "C", d.currency COLLATE "C"
          FOR UPDATE OF w
     )
     UPDATE wallet_balances w
        SET pending_minor = w.pending_minor + i.pending_delta_minor, available_minor = w.available_minor + i.available_delta_minor,
            reserved_minor = w.reserved_minor + i.reserved_delta_minor, version = w.version + i.change_count, updated_at = now()
       FROM increment i
      WHERE w.seller_id = i.seller_id AND w.currency = i.currency
     RETURNING w.seller_id, w.currency, w.pending_minor::text AS pending_minor, w.available_minor::text AS available_minor,
               w.reserved_minor::text AS reserved_minor, w.version, w.updated_at`,
    sellerIds,
    currencies,
    sorted.map((increment) => increment.delta.pendingDeltaMinor.toString()),
    sorted.map((increment) => increment.delta.availableDeltaMinor.toString()),
    sorted.map((increment) => increment.delta.reservedDeltaMinor.toString()),
    sorted.map((increment) => increment.changeCount),
  );
  const wallets = rows.map(walletOf).sort(compareWalletKeys);
  // Postcondition: every wallet was there to update (it was created just above), once.
  if (wallets.length !== sorted.length || wallets.some((wallet, index) => compareWalletKeys(wallet, sorted[index] as WalletKey) !== 0)) {
    throw new Error(`incrementWallets: updated ${wallets.length} of ${sorted.length} wallets`);
  }
  return wallets;
}

export async function findWallets(db: SqlClient, sellerId: string): Promise<StoredWallet[]> {
  const rows = await db.$queryRawUnsafe<WalletRow[]>(`SELECT ${WALLET_COLUMNS} FROM wallet_balances WHERE seller_id = $1 ORDER BY currency`, sellerId);
  return rows.map(walletOf);
}

export async function findWallet(db: SqlClient, sellerId: string, currency: string): Promise<StoredWallet | undefined> {
  const rows = await db.$queryRawUnsafe<WalletRow[]>(`SELECT ${WALLET_COLUMNS} FROM wallet_balances WHERE seller_id = $1 AND currency = $2`, sellerId, currency);
  return rows[0] === undefined ? undefined : walletOf(rows[0]);
}

/** Every wallet, in pages (for the audit). */
export async function listWallets(db: SqlClient, afterKey: { sellerId: string; currency: string } | undefined, limit: number): Promise<StoredWallet[]> {
  const rows = await db.$queryRawUnsafe<WalletRow[]>(
    `SELECT ${WALLET_COLUMNS} FROM wallet_balances
      WHERE $1::text IS NULL OR (seller_id, currency) > ($1::text, $2::text)
      ORDER BY seller_id, currency LIMIT $3`,
    afterKey?.sellerId ?? null,
    afterKey?.currency ?? null,
    limit,
  );
  return rows.map(walletOf);
}

interface ReservationRow {
  id: string;
  /** Null, with currency and amount, only on a release marker (the check trigger keeps them together). */
  seller_id: string | null;
  currency: string | null;
  amount_minor: string | null;
  status: string;
}

const RESERVATION_COLUMNS = 'id, seller_id, currency, amount_minor::text AS amount_minor, status';

function storedReservationOf(row: ReservationRow): StoredReservation {
  if (row.seller_id === null || row.currency === null || row.amount_minor === null) {
    if (row.status !== 'released') throw new Error(`reservation ${row.id} has no terms but is ${row.status}`);
    return { id: row.id, status: 'released', marker: true };
  }
  return { id: row.id, sellerId: row.seller_id, currency: row.currency, amountMinor: BigInt(row.amount_minor), status: row.status as ReservationStatus };
}

/** A row that must be a reservation that was taken (held, or inserted just now), never a marker. */
function reservationOf(row: ReservationRow): WalletReservation {
  const stored = storedReservationOf(row);
  if (isReleaseMarker(stored)) throw new Error(`reservation ${row.id} is a release marker`);
  return stored;
}

/** Inserts a held reservation; undefined when one with this id exists already. */
export async function insertReservation(tx: SqlClient, reservation: Omit<WalletReservation, 'status'>): Promise<WalletReservation | undefined> {
  const rows = await tx.$queryRawUnsafe<ReservationRow[]>(
    `INSERT INTO wallet_reservations (id, seller_id, currency, amount_minor, status) VALUES ($1, $2, $3, $4::int8, 'held')
     ON CONFLICT (id) DO NOTHING
     RETURNING ${RESERVATION_COLUMNS}`,
    reservation.id,
    reservation.sellerId,
    reservation.currency,
    reservation.amountMinor.toString(),
  );
  return rows[0] === undefined ? undefined : reservationOf(rows[0]);
}

/**
 * Stores a release marker (released, no terms: it held nothing); false when something is stored
 * under this id already. An insert of the same id still in flight (a reservation's) is waited
 * for by the unique index, so false also means "reserved meanwhile": read it again.
 */
export async function insertReleaseMarker(tx: SqlClient, id: string): Promise<boolean> {
  const inserted = await tx.$executeRawUnsafe(
    `INSERT INTO wallet_reservations (id, seller_id, currency, amount_minor, status, settled_at) VALUES ($1, NULL, NULL, NULL, 'released', now())
     ON CONFLICT (id) DO NOTHING`,
    id,
  );
  return inserted === 1;
}

/** The advisory lock namespace of payout ids (pg_advisory_xact_lock(namespace, hashtext(id))). */
const PAYOUT_ID_LOCK_NAMESPACE = 0x77616c70; // 'walp'

/**
 * Holds the payout id's lock until the transaction ends, whether or not its reservation exists
 * yet: a row lock cannot cover a reservation another transaction is still inserting, so the
 * internal routes take this before they read the reservation, and a second request for the same
 * payout reads it only once the first has committed. Lock order: payout id, then the
 * reservation row, then the balance row.
 */
export async function lockPayoutId(tx: SqlClient, payoutId: string): Promise<void> {
  await tx.$queryRawUnsafe(`SELECT pg_advisory_xact_lock($1::int, hashtext($2))`, PAYOUT_ID_LOCK_NAMESPACE, payoutId);
}

/** What is stored under the payout id (a reservation or a release marker), locked until the transaction ends. */
export async function lockReservation(tx: SqlClient, id: string): Promise<StoredReservation | undefined> {
  const rows = await tx.$queryRawUnsafe<ReservationRow[]>(`SELECT ${RESERVATION_COLUMNS} FROM wallet_reservations WHERE id = $1 FOR UPDATE`, id);
  return rows[0] === undefined ? undefined : storedReservationOf(rows[0]);
}

export async function settleReservationRow(tx: SqlClient, id: string, status: ReservationStatus): Promise<void> {
  const updated = await tx.$executeRawUnsafe(`UPDATE wallet_reservations SET status = $2, settled_at = now(), updated_at = now() WHERE id = $1 AND status = 'held'`, id, status);
  if (updated !== 1) throw new Error(`reservation ${id} was not held`);
}

export interface HeldReservation extends WalletReservation {
  readonly createdAt: Date;
}

/** Where a page of held reservations ends: the last one's (created_at, id). */
export interface HeldReservationKey {
  readonly createdAt: Date;
  readonly id: string;
}

/**
 * One page of reservations still held `olderThanMs` after they were taken (the database's clock),
 * oldest first, after `afterKey` (index wallet_reservations(status, created_at, id)).
 */
export async function listHeldReservations(db: SqlClient, olderThanMs: number, afterKey: HeldReservationKey | undefined, limit: number): Promise<HeldReservation[]> {
  const rows = await db.$queryRawUnsafe<(ReservationRow & { created_at: Date })[]>(
    `SELECT ${RESERVATION_COLUMNS}, created_at FROM wallet_reservations
      WHERE status = 'held' AND created_at < now() - ($1::bigint * interval '1 millisecond')
        AND ($2::timestamptz IS NULL OR (created_at, id) > ($2::timestamptz, $3::text))
      ORDER BY created_at, id LIMIT $4`,
    olderThanMs,
    afterKey?.createdAt.toISOString() ?? null,
    afterKey?.id ?? null,
    limit,
  );
  return rows.map((row) => ({ ...reservationOf(row), createdAt: new Date(row.created_at) }));
}
