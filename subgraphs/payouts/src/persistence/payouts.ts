// The payouts table, in SQL over the kit's structural SqlClient: the same functions run on the
// PrismaClient, inside prisma.$transaction and inside a consumer's transaction.
import type { SqlClient } from '@clearhouse/shared';
import { invariant } from '@clearhouse/shared';
import type { Payout } from '../domain/payout.js';
import { isPayoutStatus, type PayoutStatus } from '../domain/payout-status.js';

interface PayoutRow {
  id: string;
  seller_id: string;
  currency: string;
  amount_minor: bigint | string;
  payout_currency: string;
  payout_amount_minor: bigint | string;
  fx_rate_numerator: string | null;
  fx_rate_denominator: string | null;
  destination: string;
  status: string;
  psp_payout_id: string | null;
  failure_code: string | null;
  failure_message: string | null;
  requested_by: string;
  idempotency_key: string;
  created_at: Date;
  updated_at: Date;
  paid_at: Date | null;
  failed_at: Date | null;
  version: number;
}

const COLUMNS = `id, seller_id, currency, amount_minor, payout_currency, payout_amount_minor, fx_rate_numerator,
  fx_rate_denominator, destination, status, psp_payout_id, failure_code, failure_message, requested_by,
  idempotency_key, created_at, updated_at, paid_at, failed_at, version`;

export const PAGE_SIZE_MAX = 100;
const BATCH_SIZE_MAX = 1_000;

function toPayout(row: PayoutRow): Payout {
  invariant(isPayoutStatus(row.status), `payouts: unknown status ${row.status} on ${row.id}`);
  const fx = row.fx_rate_numerator !== null && row.fx_rate_denominator !== null
    ? { rateNumerator: BigInt(row.fx_rate_numerator), rateDenominator: BigInt(row.fx_rate_denominator) }
    : null;
  return {
    id: row.id,
    sellerId: row.seller_id,
    currency: row.currency,
    amountMinor: BigInt(row.amount_minor),
    payoutCurrency: row.payout_currency,
    payoutAmountMinor: BigInt(row.payout_amount_minor),
    fx,
    destination: row.destination,
    status: row.status,
    pspPayoutId: row.psp_payout_id,
    failureCode: row.failure_code,
    failureMessage: row.failure_message,
    requestedBy: row.requested_by,
    idempotencyKey: row.idempotency_key,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
    paidAt: row.paid_at === null ? null : new Date(row.paid_at),
    failedAt: row.failed_at === null ? null : new Date(row.failed_at),
    version: Number(row.version),
  };
}

async function selectOne(db: SqlClient, where: string, ...values: unknown[]): Promise<Payout | null> {
  const rows = await db.$queryRawUnsafe<PayoutRow[]>(`SELECT ${COLUMNS} FROM payouts WHERE ${where}`, ...values);
  const row = rows[0];
  return row === undefined ? null : toPayout(row);
}

export async function insertPayout(tx: SqlClient, payout: Payout): Promise<void> {
  const inserted = await tx.$executeRawUnsafe(
    `INSERT INTO payouts (id, seller_id, currency, amount_minor, payout_currency, payout_amount_minor, fx_rate_numerator,
       fx_rate_denominator, destination, status, requested_by, idempotency_key, created_at, updated_at)
     VALUES ($1, $2, $3, $4::bigint, $5, $6::bigint, $7, $8, $9, $10, $11, $12, $13::timestamptz, $13::timestamptz)`,
    payout.id,
    payout.sellerId,
    payout.currency,
    payout.amountMinor.toString(),
    payout.payoutCurrency,
    payout.payoutAmountMinor.toString(),
    payout.fx?.rateNumerator.toString() ?? null,
    payout.fx?.rateDenominator.toString() ?? null,
    payout.destination,
    payout.status,
    payout.requestedBy,
    payout.idempotencyKey,
    payout.createdAt.toISOString(),
  );
  invariant(inserted === 1, `payouts: insert of ${payout.id} wrote ${inserted} rows`);
}

export function findPayout(db: SqlClient, id: string): Promise<Payout | null> {
  return selectOne(db, 'id = $1', id);
}

/** Locks the row for the rest of the transaction (FOR UPDATE). */
export function lockPayout(tx: SqlClient, id: string): Promise<Payout | null> {
  return selectOne(tx, 'id = $1 FOR UPDATE', id);
}

export function lockPayoutByPspId(tx: SqlClient, pspPayoutId: string): Promise<Payout | null> {
  return selectOne(tx, 'psp_payout_id = $1 FOR UPDATE', pspPayoutId);
}

export interface PayoutChange {
  status: PayoutStatus;
  pspPayoutId?: string | null;
  failureCode?: string | null;
  failureMessage?: string | null;
  paidAt?: Date | null;
  failedAt?: Date | null;
}

/** Writes a transition decided by the domain; the version check guards against lost updates. */
export async function updatePayout(tx: SqlClient, current: Payout, change: PayoutChange): Promise<Payout> {
  const rows = await tx.$queryRawUnsafe<PayoutRow[]>(
    `UPDATE payouts SET status = $3::varchar,
        psp_payout_id = COALESCE($4::varchar, psp_payout_id),
        failure_code = COALESCE($5::varchar, failure_code),
        failure_message = COALESCE($6::varchar, failure_message),
        paid_at = COALESCE($7::timestamptz, paid_at),
        failed_at = COALESCE($8::timestamptz, failed_at),
        processing_at = CASE WHEN $3::varchar = 'PROCESSING' AND status <> 'PROCESSING' THEN now() ELSE processing_at END,
        updated_at = now(), version = version + 1
      WHERE id = $1 AND version = $2::int
      RETURNING ${COLUMNS}`,
    current.id,
    current.version,
    change.status,
    change.pspPayoutId ?? null,
    change.failureCode ?? null,
    change.failureMessage ?? null,
    change.paidAt?.toISOString() ?? null,
    change.failedAt?.toISOString() ?? null,
  );
  const row = rows[0];
  invariant(row !== undefined, `payouts: ${current.id} changed concurrently (version ${current.version})`);
  return toPayout(row);
}

/** Marks a payout as looked at (the re-check rotates through the oldest first). */
export async function touchPayout(tx: SqlClient, id: string): Promise<void> {
  await tx.$executeRawUnsafe(`UPDATE payouts SET updated_at = now() WHERE id = $1`, id);
}

export interface PayoutCursor {
  createdAt: Date;
  id: string;
}

/** A seller's payouts, newest first, after the cursor; one more than asked to tell if there is a next page. */
export async function listSellerPayouts(db: SqlClient, sellerId: string, first: number, after: PayoutCursor | null): Promise<Payout[]> {
  invariant(Number.isInteger(first) && first >= 1 && first <= PAGE_SIZE_MAX, 'listSellerPayouts: first out of range');
  const rows = after === null
    ? await db.$queryRawUnsafe<PayoutRow[]>(
        `SELECT ${COLUMNS} FROM payouts WHERE seller_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2`,
        sellerId,
        first + 1,
      )
    : await db.$queryRawUnsafe<PayoutRow[]>(
        `SELECT ${COLUMNS} FROM payouts WHERE seller_id = $1 AND (created_at, id) < ($2::timestamptz, $3)
          ORDER BY created_at DESC, id DESC LIMIT $4`,
        sellerId,
        after.createdAt.toISOString(),
        after.id,
        first + 1,
      );
  return rows.map(toPayout);
}

/** Payouts in `status` not changed for `olderThanMs`, oldest change first. */
export async function listStalePayouts(db: SqlClient, status: PayoutStatus, olderThanMs: number, limit: number): Promise<Payout[]> {
  invariant(Number.isInteger(limit) && limit >= 1 && limit <= BATCH_SIZE_MAX, 'listStalePayouts: limit out of range');
  const rows = await db.$queryRawUnsafe<PayoutRow[]>(
    `SELECT ${COLUMNS} FROM payouts WHERE status = $1 AND updated_at <= now() - ($2::bigint * interval '1 millisecond')
      ORDER BY updated_at ASC LIMIT $3`,
    status,
    olderThanMs,
    limit,
  );
  return rows.map(toPayout);
}
