// Wallet reservations given up because no payout was saved for them (protocol:
// prisma/payouts/schema.prisma, model AbandonedReservation). A payout id is decided once, under a
// transaction-scoped advisory lock on it: requestPayout's save (the payout row) and the sweep (an
// abandoned_reservations row) each take the lock, read what the other may have committed, and
// write their own row, so exactly one of them wins and the other sees it.
import type { SqlClient } from '@clearhouse/shared';

/** The advisory lock namespace of payout ids (pg_advisory_xact_lock(namespace, hashtext(id))). */
const PAYOUT_ID_LOCK_NAMESPACE = 0x70617969; // 'payi'

/** Holds the payout id's lock until the transaction ends. */
export async function lockPayoutId(tx: SqlClient, payoutId: string): Promise<void> {
  await tx.$queryRawUnsafe(`SELECT pg_advisory_xact_lock($1::int, hashtext($2))`, PAYOUT_ID_LOCK_NAMESPACE, payoutId);
}

export async function isReservationAbandoned(tx: SqlClient, payoutId: string): Promise<boolean> {
  const rows = await tx.$queryRawUnsafe<{ payout_id: string }[]>(`SELECT payout_id FROM abandoned_reservations WHERE payout_id = $1`, payoutId);
  return rows.length > 0;
}

/** The ids among `payoutIds` that have a payout. */
export async function existingPayoutIds(db: SqlClient, payoutIds: readonly string[]): Promise<Set<string>> {
  if (payoutIds.length === 0) return new Set();
  const rows = await db.$queryRawUnsafe<{ id: string }[]>(`SELECT id FROM payouts WHERE id = ANY($1::text[])`, [...payoutIds]);
  return new Set(rows.map((row) => row.id));
}

export interface AbandonedReservation {
  readonly payoutId: string;
  readonly sellerId: string;
  readonly currency: string;
  readonly amountMinor: bigint;
}

/** Records the reservation as abandoned (again: a no-op). Call under lockPayoutId. */
export async function insertAbandonedReservation(tx: SqlClient, reservation: AbandonedReservation): Promise<void> {
  await tx.$executeRawUnsafe(
    `INSERT INTO abandoned_reservations (payout_id, seller_id, currency, amount_minor) VALUES ($1, $2, $3, $4::int8)
     ON CONFLICT (payout_id) DO NOTHING`,
    reservation.payoutId,
    reservation.sellerId,
    reservation.currency,
    reservation.amountMinor.toString(),
  );
}

export async function markReservationReleased(db: SqlClient, payoutId: string): Promise<void> {
  await db.$executeRawUnsafe(`UPDATE abandoned_reservations SET released_at = now() WHERE payout_id = $1 AND released_at IS NULL`, payoutId);
}

/** Deletes at most `limit` rows released more than `retentionMs` ago; unreleased rows stay. Returns how many. */
export async function deleteReleasedReservations(db: SqlClient, retentionMs: number, limit: number): Promise<number> {
  return db.$executeRawUnsafe(
    `DELETE FROM abandoned_reservations WHERE payout_id IN (
       SELECT payout_id FROM abandoned_reservations
        WHERE released_at < now() - ($1::bigint * interval '1 millisecond')
        ORDER BY released_at LIMIT $2::int)`,
    retentionMs,
    limit,
  );
}

/** (caller, key) of the runs of `operation` holding their idempotency key right now, at most `limit`. */
export async function listLiveRunKeys(db: SqlClient, operation: string, limit: number): Promise<{ caller_id: string; key: string }[]> {
  return await db.$queryRawUnsafe<{ caller_id: string; key: string }[]>(
    `SELECT caller_id, key FROM idempotency_keys WHERE operation = $1 AND status = 'in_progress' AND locked_until > now() LIMIT $2`,
    operation,
    limit,
  );
}
