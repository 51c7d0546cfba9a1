// Wallet rows in PostgreSQL (protocol: prisma/wallet/schema.prisma). Every balance change is an
// increment in the database under the row lock; a reservation is a conditional UPDATE
// (available_minor >= amount), so concurrent reservations can never overdraw the wallet.
import { randomUUID } from 'node:crypto';
import type { SqlClient } from '@clearhouse/shared';
import type { ReservationStatus, WalletBalance, WalletChange, WalletReservation } from '../domain/index.js';

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
  seller_id: string;
  currency: string;
  amount_minor: string;
  status: string;
}

function reservationOf(row: ReservationRow): WalletReservation {
  return { id: row.id, sellerId: row.seller_id, currency: row.currency, amountMinor: BigInt(row.amount_minor), status: row.status as ReservationStatus };
}

/** Inserts a held reservation; undefined when one with this id exists already. */
export async function insertReservation(tx: SqlClient, reservation: Omit<WalletReservation, 'status'>): Promise<WalletReservation | undefined> {
  const rows = await tx.$queryRawUnsafe<ReservationRow[]>(
    `INSERT INTO wallet_reservations (id, seller_id, currency, amount_minor, status) VALUES ($1, $2, $3, $4::int8, 'held')
     ON CONFLICT (id) DO NOTHING
     RETURNING id, seller_id, currency, amount_minor::text AS amount_minor, status`,
    reservation.id,
    reservation.sellerId,
    reservation.currency,
    reservation.amountMinor.toString(),
  );
  return rows[0] === undefined ? undefined : reservationOf(rows[0]);
}

export async function lockReservation(tx: SqlClient, id: string): Promise<WalletReservation | undefined> {
  const rows = await tx.$queryRawUnsafe<ReservationRow[]>(
    `SELECT id, seller_id, currency, amount_minor::text AS amount_minor, status FROM wallet_reservations WHERE id = $1 FOR UPDATE`,
    id,
  );
  return rows[0] === undefined ? undefined : reservationOf(rows[0]);
}

export async function settleReservationRow(tx: SqlClient, id: string, status: ReservationStatus): Promise<void> {
  const updated = await tx.$executeRawUnsafe(`UPDATE wallet_reservations SET status = $2, settled_at = now(), updated_at = now() WHERE id = $1 AND status = 'held'`, id, status);
  if (updated !== 1) throw new Error(`reservation ${id} was not held`);
}
