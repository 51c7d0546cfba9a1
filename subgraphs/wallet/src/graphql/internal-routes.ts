// Signed internal routes for the payouts subgraph. The wallet is the lockable view of a seller's
// money, so a payout's reservation is taken here, synchronously, under the wallet row's lock:
// concurrent payout requests can never reserve more than is available. Requests for one payout id
// (a retry, a release) run one after another under that id's lock (lockPayoutId), so each reads
// what the one before it committed.
//
//   POST /internal/reservations {payoutId, sellerId, currency, amountMinor: "<digits>"|null, minAmountMinor: "<digits>"}
//     200 {payoutId, amountMinor, replayed}   (null amount = the whole available balance, capped at
//         maxAmountMinor; replayed: this payout id's hold is still there and fits the request —
//         same seller and currency, the same amount or, for null, one within the cap)
//     409 {code: "INSUFFICIENT_FUNDS", availableMinor}
//     409 {code: "RESERVATION_RELEASED", payoutId}   (this payout id's hold was given back or paid,
//         or the payout id was released before any reservation of it: never replayed, nothing held)
//     409 {code: "RESERVATION_MISMATCH", payoutId}   (this payout id is reserved, held or settled,
//         with other terms — found stored, or reserved meanwhile by a writer that does not take its
//         lock, the payout.requested consumer; nothing written)
//   POST /internal/reservations/release {payoutId}
//     200 {released}   true: this call gave the payout id's hold back. false: nothing was held —
//         already released or paid, or never reserved: a payout id this wallet has not seen is
//         then stored as released (a release marker, no hold), so a reservation of it arriving
//         later (a delayed retry) answers RESERVATION_RELEASED instead of holding the money until
//         the abandoned-reservation sweep
//   GET  /internal/balances?minAvailableMinor=&limit=&after=  → 200 {balances: [...], nextCursor}
//     balances with available >= minAvailableMinor (default 1), in (seller, currency) order; `after`
//     is a nextCursor this route returned (keyset: a balance changed or added meanwhile never
//     shifts the pages); 400 {error} for a bad query or any other cursor
//   GET  /internal/reservations/held?olderThanMs=&limit=&after=
//     → 200 {reservations: [{payoutId, sellerId, currency, amountMinor, createdAt}], nextCursor}
//     reservations still held olderThanMs after they were taken (the wallet's clock), oldest first:
//     payouts releases those no payout exists for (application/release-abandoned-reservations.ts)
//     400 {error} for a bad query
// Every request must carry the signed system caller `payouts`.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { invariant, maxAmountMinor, sendJson, verifyCaller, type RawRoute, type SqlClient, type TransactionalDb } from '@clearhouse/shared';
import { releaseInTx, reserveInTx } from '../application/reservations.js';
import { WalletRuleError, isReleaseMarker, replayReservation, type StoredReservation } from '../domain/index.js';
import { findWallet, insertReleaseMarker, listHeldReservations, listWallets, lockPayoutId, lockReservation, type HeldReservationKey, type WalletKey } from '../persistence/wallet-store.js';

const BALANCES_PAGE_MAX = 1000;
const TRANSACTION_TIMEOUT_MS = 10_000;
const digits = z.string().regex(/^(0|[1-9][0-9]{0,29})$/);
const CURRENCY_CODE = /^[A-Z]{3}$/;

const reserveBody = z.object({
  payoutId: z.string().min(1).max(128),
  sellerId: z.string().min(1).max(128),
  currency: z.string().regex(CURRENCY_CODE),
  amountMinor: digits.nullable(),
  minAmountMinor: digits.default('1'),
});
const releaseBody = z.object({ payoutId: z.string().min(1).max(128) });
const HELD_PAGE_MAX = 1000;
/** Ten years: an age past any retention, and far inside an int8 of milliseconds. */
const HELD_OLDER_THAN_MS_MAX = 10 * 366 * 24 * 3_600_000;
const heldQuery = z.object({
  olderThanMs: z.string().regex(/^[0-9]{1,12}$/).transform(Number).pipe(z.number().int().min(0).max(HELD_OLDER_THAN_MS_MAX)),
  limit: z.string().regex(/^[0-9]{1,4}$/).transform(Number).pipe(z.number().int().min(1).max(HELD_PAGE_MAX)).default(100),
  after: z.string().min(1).max(400).optional(),
});

const balancesQuery = z.object({
  minAvailableMinor: digits.transform((value) => BigInt(value)).default(1n),
  limit: z.string().regex(/^[0-9]{1,4}$/).transform(Number).pipe(z.number().int().min(1).max(BALANCES_PAGE_MAX)).default(100),
  /** A seller id of up to 128 characters, four bytes each at most, fits well inside. */
  after: z.string().min(1).max(800).optional(),
});
/** Names the route in its cursors, so another route's cursor is never read as a wallet key. */
const BALANCES_CURSOR_TAG = 'balances';

function encodeBalancesCursor(key: WalletKey): string {
  return Buffer.from(`${BALANCES_CURSOR_TAG}\n${key.sellerId}\n${key.currency}`, 'utf8').toString('base64url');
}

/** The wallet key a cursor of this route names; null for anything else (another route's, altered, hand-made). */
function decodeBalancesCursor(cursor: string): WalletKey | null {
  const [tag, ...parts] = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
  const currency = parts.pop() ?? '';
  const key = { sellerId: parts.join('\n'), currency };
  // Re-encoding must give the cursor back: base64url decoding skips what it cannot read.
  if (tag !== BALANCES_CURSOR_TAG || !key.sellerId || !CURRENCY_CODE.test(currency) || encodeBalancesCursor(key) !== cursor) return null;
  return key;
}

function encodeHeldCursor(key: HeldReservationKey): string {
  return Buffer.from(`${key.createdAt.toISOString()}\n${key.id}`, 'utf8').toString('base64url');
}

function decodeHeldCursor(cursor: string): HeldReservationKey | null {
  const [at, id, ...rest] = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
  const createdAt = new Date(at ?? '');
  if (rest.length > 0 || !id || Number.isNaN(createdAt.getTime()) || createdAt.toISOString() !== at) return null;
  return { createdAt, id };
}

function authorized(request: IncomingMessage, body: Buffer, response: ServerResponse, signingSecret: string): boolean {
  const caller = verifyCaller(request, body, signingSecret);
  if (caller && caller.role === 'system' && caller.keyId === 'payouts') return true;
  sendJson(response, 401, { error: 'signed system caller `payouts` required' });
  return false;
}

function parsed<T>(schema: z.ZodType<T>, raw: unknown, response: ServerResponse): T | null {
  const result = schema.safeParse(raw);
  if (!result.success) {
    sendJson(response, 400, { error: result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') });
    return null;
  }
  return result.data;
}

function parseJson<T>(schema: z.ZodType<T>, body: Buffer, response: ServerResponse): T | null {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch {
    sendJson(response, 400, { error: 'body must be JSON' });
    return null;
  }
  return parsed(schema, raw, response);
}

function parseQuery<T>(schema: z.ZodType<T>, request: IncomingMessage, response: ServerResponse): T | null {
  return parsed(schema, Object.fromEntries(new URL(request.url ?? '/', 'http://localhost').searchParams), response);
}

type ReserveOutcome =
  | { ok: true; amountMinor: bigint; replayed: boolean }
  | { ok: false; code: 'INSUFFICIENT_FUNDS'; availableMinor: bigint }
  | { ok: false; code: 'RESERVATION_RELEASED' | 'RESERVATION_MISMATCH' };

/** The answer for a payout id that already has something stored (replayReservation in the domain). */
function replayOf(stored: StoredReservation, request: z.infer<typeof reserveBody>): ReserveOutcome {
  const replay = replayReservation(stored, {
    sellerId: request.sellerId,
    currency: request.currency,
    amountMinor: request.amountMinor === null ? null : BigInt(request.amountMinor),
    amountMaxMinor: maxAmountMinor(request.currency),
  });
  return replay.ok ? { ok: true, amountMinor: replay.amountMinor, replayed: true } : replay;
}

async function reserveForPayout(tx: SqlClient, request: z.infer<typeof reserveBody>): Promise<ReserveOutcome> {
  // The payout id's lock first: a retry of this payout (its client timed out) that arrives while
  // the first attempt still waits for the balance row waits here, then reads the reservation the
  // first one committed, instead of missing it and finding its amount no longer available.
  await lockPayoutId(tx, request.payoutId);
  const existing = await lockReservation(tx, request.payoutId);
  if (existing) return replayOf(existing, request);
  // Lock the wallet row first so "the whole available balance" is read and reserved atomically.
  await tx.$queryRawUnsafe('SELECT 1 FROM wallet_balances WHERE seller_id = $1 AND currency = $2 FOR UPDATE', request.sellerId, request.currency);
  const wallet = await findWallet(tx, request.sellerId, request.currency);
  const availableMinor = wallet?.availableMinor ?? 0n;
  const minimumMinor = BigInt(request.minAmountMinor) > 1n ? BigInt(request.minAmountMinor) : 1n;
  const amountMinor = request.amountMinor === null ? (availableMinor < maxAmountMinor(request.currency) ? availableMinor : maxAmountMinor(request.currency)) : BigInt(request.amountMinor);
  if (amountMinor < minimumMinor || availableMinor < amountMinor) return { ok: false, code: 'INSUFFICIENT_FUNDS', availableMinor };
  const reserved = await reserveInTx(tx, { payoutId: request.payoutId, sellerId: request.sellerId, currency: request.currency, amountMinor, at: new Date() });
  if (reserved.status === 'applied') return { ok: true, amountMinor, replayed: false };
  // Reserved meanwhile by a writer that does not take the payout id's lock (the payout.requested
  // consumer) with the same terms: answer what is stored, as a replay would (other terms:
  // reserveInTx throws RESERVATION_MISMATCH, answered 409 by the route).
  const stored = await lockReservation(tx, request.payoutId);
  invariant(stored !== undefined, `payout ${request.payoutId} was reserved but has no reservation`);
  return replayOf(stored, request);
}

/** Gives a held reservation back; false for anything else (released, consumed, a marker): nothing was held. */
async function releaseHeld(tx: SqlClient, stored: StoredReservation): Promise<boolean> {
  if (isReleaseMarker(stored) || stored.status !== 'held') return false;
  await releaseInTx(tx, { payoutId: stored.id, sellerId: stored.sellerId, currency: stored.currency, amountMinor: stored.amountMinor, at: new Date() });
  return true;
}

async function releaseForPayout(tx: SqlClient, payoutId: string): Promise<boolean> {
  // As for a reservation: a reserve of this payout still in flight commits before this reads, so
  // its hold is released, not missed and left behind.
  await lockPayoutId(tx, payoutId);
  const stored = await lockReservation(tx, payoutId);
  if (stored) return releaseHeld(tx, stored);
  // Never reserved: mark the payout id released, so a reserve of it arriving later (a delayed
  // retry, after payouts gave up) holds nothing. The consumer's reservation does not take the
  // payout id's lock; if it inserted the id meanwhile, the marker's insert waited for it on the
  // primary key and did nothing: release that hold instead.
  if (await insertReleaseMarker(tx, payoutId)) return false;
  const reservedMeanwhile = await lockReservation(tx, payoutId);
  invariant(reservedMeanwhile !== undefined, `payout ${payoutId} was stored meanwhile but has no reservation`);
  return releaseHeld(tx, reservedMeanwhile);
}

export function walletInternalRoutes(db: TransactionalDb, signingSecret: string): RawRoute[] {
  return [
    {
      method: 'POST',
      path: '/internal/reservations',
      async handle(request, response, body) {
        if (!authorized(request, body, response, signingSecret)) return;
        const input = parseJson(reserveBody, body, response);
        if (!input) return;
        try {
          const outcome = await db.$transaction((tx) => reserveForPayout(tx, input), { timeout: TRANSACTION_TIMEOUT_MS });
          if (outcome.ok) sendJson(response, 200, { payoutId: input.payoutId, amountMinor: outcome.amountMinor.toString(), replayed: outcome.replayed });
          else if (outcome.code === 'INSUFFICIENT_FUNDS') sendJson(response, 409, { code: outcome.code, availableMinor: outcome.availableMinor.toString() });
          else sendJson(response, 409, { code: outcome.code, payoutId: input.payoutId });
        } catch (error) {
          if (error instanceof WalletRuleError && error.code === 'INSUFFICIENT_FUNDS') {
            const wallet = await findWallet(db, input.sellerId, input.currency);
            sendJson(response, 409, { code: 'INSUFFICIENT_FUNDS', availableMinor: (wallet?.availableMinor ?? 0n).toString() });
            return;
          }
          // reserveInTx found the payout id reserved with other terms (by the payout.requested
          // consumer, between this request's look-up and its insert): the transaction rolled back,
          // so nothing was written; the stored reservation is not this request's to answer as held.
          // (RESERVATION_RELEASED: a release marker found there; markers are written only under
          // the payout id's lock, which this request holds, so kept for completeness.)
          if (error instanceof WalletRuleError && (error.code === 'RESERVATION_MISMATCH' || error.code === 'RESERVATION_RELEASED')) {
            sendJson(response, 409, { code: error.code, payoutId: input.payoutId });
            return;
          }
          throw error;
        }
      },
    },
    {
      method: 'POST',
      path: '/internal/reservations/release',
      async handle(request, response, body) {
        if (!authorized(request, body, response, signingSecret)) return;
        const input = parseJson(releaseBody, body, response);
        if (!input) return;
        const released = await db.$transaction((tx) => releaseForPayout(tx, input.payoutId), { timeout: TRANSACTION_TIMEOUT_MS });
        sendJson(response, 200, { released });
      },
    },
    {
      method: 'GET',
      path: '/internal/reservations/held',
      async handle(request, response, body) {
        if (!authorized(request, body, response, signingSecret)) return;
        const query = parseQuery(heldQuery, request, response);
        if (!query) return;
        const afterKey = query.after === undefined ? undefined : decodeHeldCursor(query.after);
        if (afterKey === null) {
          sendJson(response, 400, { error: 'after: not a cursor this route returned' });
          return;
        }
        const held = await listHeldReservations(db, query.olderThanMs, afterKey, query.limit);
        const last = held.at(-1);
        sendJson(response, 200, {
          reservations: held.map((r) => ({ payoutId: r.id, sellerId: r.sellerId, currency: r.currency, amountMinor: r.amountMinor.toString(), createdAt: r.createdAt.toISOString() })),
          nextCursor: held.length === query.limit && last ? encodeHeldCursor(last) : null,
        });
      },
    },
    {
      method: 'GET',
      path: '/internal/balances',
      async handle(request, response, body) {
        if (!authorized(request, body, response, signingSecret)) return;
        const query = parseQuery(balancesQuery, request, response);
        if (!query) return;
        const { minAvailableMinor, limit } = query;
        const afterKey = query.after === undefined ? undefined : decodeBalancesCursor(query.after);
        if (afterKey === null) {
          sendJson(response, 400, { error: 'after: not a cursor this route returned' });
          return;
        }
        // Scan pages of wallets in key order, keeping those over the minimum, bounded per request.
        const balances: { sellerId: string; currency: string; availableMinor: string }[] = [];
        let cursorKey = afterKey;
        let lastKey: WalletKey | undefined;
        let exhausted = false;
        for (let page = 0; page < 20 && balances.length < limit; page += 1) {
          const wallets = await listWallets(db, cursorKey, BALANCES_PAGE_MAX);
          if (wallets.length === 0) {
            exhausted = true;
            break;
          }
          for (const wallet of wallets) {
            lastKey = { sellerId: wallet.sellerId, currency: wallet.currency };
            if (wallet.availableMinor >= minAvailableMinor) balances.push({ sellerId: wallet.sellerId, currency: wallet.currency, availableMinor: wallet.availableMinor.toString() });
            if (balances.length >= limit) break;
          }
          if (wallets.length < BALANCES_PAGE_MAX && balances.length < limit) {
            exhausted = true;
            break;
          }
          cursorKey = lastKey;
        }
        const nextCursor = !exhausted && lastKey ? encodeBalancesCursor(lastKey) : null;
        sendJson(response, 200, { balances, nextCursor });
      },
    },
  ];
}
