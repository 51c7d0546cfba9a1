// requestPayout: authorize → validate → (idempotently) reserve in the wallet → save the payout
// PENDING with its payout.requested event in one transaction. The PSP is not called here: the
// payout.requested consumer executes it (execute-payout.ts).
import { createHash } from 'node:crypto';
import {
  DomainError, invariant, runIdempotent, type Caller, type JsonValue, type UserErrorPayload,
} from '@clearhouse/shared';
import { destinationFor } from '../domain/destinations.js';
import { convertMinor, findRate, type FxRate } from '../domain/fx.js';
import type { Payout } from '../domain/payout.js';
import { payoutRequestedPayload } from '../domain/payout.js';
import { minimumPayoutMinor, reservationRefusal, validatePayoutRequest } from '../domain/rules.js';
import { isReservationAbandoned, lockPayoutId } from '../persistence/abandoned-reservations.js';
import { findPayout, insertPayout } from '../persistence/payouts.js';
import type { PayoutsDeps } from './deps.js';
import { writePayoutEvent } from './events.js';

export interface RequestPayoutCommand {
  idempotencyKey: string;
  sellerId: string;
  currency: string;
  /** null: the whole available balance. */
  amountMinor: bigint | null;
}

export interface RequestPayoutResult {
  payout: Payout;
  replayed: boolean;
}

export const REQUEST_PAYOUT_OPERATION = 'requestPayout';

export function callerKey(caller: Caller): string {
  return `${caller.role}:${caller.keyId}`;
}

/** Derived from (caller, key): a retried or taken-over request reserves and creates the same payout. */
export function payoutIdFor(callerId: string, idempotencyKey: string): string {
  return `payout_${createHash('sha256').update(`${callerId}\n${idempotencyKey}`, 'utf8').digest('hex').slice(0, 40)}`;
}

export function authorizePayoutRequest(caller: Caller, sellerId: string): void {
  const allowed = caller.role === 'platform' || caller.role === 'system' || (caller.role === 'seller' && caller.sellerId === sellerId);
  if (!allowed) throw new DomainError('FORBIDDEN', 'only the platform, or the seller itself, may request a payout for this seller', { field: ['input', 'sellerId'] });
}

interface Plan {
  destination: string;
  payoutCurrency: string;
  rate: FxRate | null;
}

function plan(deps: PayoutsDeps, command: RequestPayoutCommand): Plan {
  const target = destinationFor(deps.config.destinations, command.sellerId);
  if (target.currency === null || target.currency === command.currency) return { destination: target.destination, payoutCurrency: command.currency, rate: null };
  const rate = findRate(deps.config.fxRates, command.currency, target.currency);
  if (!rate) throw new DomainError('CURRENCY_NOT_SUPPORTED', `no FX rate from ${command.currency} to ${target.currency}, the currency of this seller's payout account`, { field: ['input', 'currency'] });
  return { destination: target.destination, payoutCurrency: target.currency, rate };
}

/** What the PSP is to send for `amountMinor` of the balance; PAYOUT_BELOW_MINIMUM when that is nothing (a tiny amount at a small FX rate). */
function payoutAmountMinorFor(command: RequestPayoutCommand, amountMinor: bigint, planned: Plan): bigint {
  const payoutAmountMinor = planned.rate === null ? amountMinor : convertMinor(amountMinor, command.currency, planned.payoutCurrency, planned.rate);
  if (payoutAmountMinor <= 0n) throw new DomainError('PAYOUT_BELOW_MINIMUM', `the amount is worth nothing in ${planned.payoutCurrency}`, { field: ['input', 'amountMinor'] });
  return payoutAmountMinor;
}

function buildPayout(command: RequestPayoutCommand, payoutId: string, callerId: string, amounts: { amountMinor: bigint; payoutAmountMinor: bigint }, planned: Plan): Payout {
  const { amountMinor, payoutAmountMinor } = amounts;
  const now = new Date();
  return {
    id: payoutId,
    sellerId: command.sellerId,
    currency: command.currency,
    amountMinor,
    payoutCurrency: planned.payoutCurrency,
    payoutAmountMinor,
    fx: planned.rate === null ? null : { rateNumerator: planned.rate.numerator, rateDenominator: planned.rate.denominator },
    destination: planned.destination,
    status: 'PENDING',
    pspPayoutId: null,
    failureCode: null,
    failureMessage: null,
    requestedBy: callerId,
    idempotencyKey: command.idempotencyKey,
    createdAt: now,
    updatedAt: now,
    paidAt: null,
    failedAt: null,
    version: 0,
  };
}

type StoredResponse = { payoutId: string } | { error: UserErrorPayload };

/** This key's payout id can never make a payout: its reservation was given back. */
function rolledBack(): { error: UserErrorPayload } {
  return {
    error: new DomainError('INVALID_STATE', 'an earlier attempt with this idempotency key failed and was rolled back; retry with a new idempotency key', {
      field: ['input', 'idempotencyKey'],
    }).toUserError(),
  };
}

/** The sweep gave this payout id's reservation up before the payout could be saved. */
class ReservationAbandonedError extends Error {
  override readonly name = 'ReservationAbandonedError';
}

/**
 * The payout found under the key's payout id must be the one this input makes. The key row says
 * so while it is kept; once it was deleted (past IDEMPOTENCY_KEY_RETENTION_MS) and the key reused,
 * only the payout can tell: another seller, currency or amount under the same key is
 * IDEMPOTENCY_KEY_REUSED, never the old payout passed off as the new one. (A null amount, "the
 * whole balance", matches any amount: the payout does not record how its amount was asked for.)
 */
function assertMadeFrom(payout: Payout, command: RequestPayoutCommand): void {
  const same = payout.sellerId === command.sellerId && payout.currency === command.currency && (command.amountMinor === null || payout.amountMinor === command.amountMinor);
  if (!same) throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used with a different input', { field: ['input', 'idempotencyKey'] });
}

async function execute(deps: PayoutsDeps, command: RequestPayoutCommand, payoutId: string, callerId: string): Promise<StoredResponse> {
  // A takeover after a crash between saving and storing the response, or a key reused after its
  // retention: the payout exists.
  const existing = await findPayout(deps.db, payoutId);
  if (existing) {
    assertMadeFrom(existing, command);
    return { payoutId };
  }
  let planned: Plan;
  try {
    planned = plan(deps, command);
    // An amount asked for is refused before anything is reserved when it is worth nothing there.
    if (command.amountMinor !== null) payoutAmountMinorFor(command, command.amountMinor, planned);
  } catch (error) {
    if (error instanceof DomainError) return { error: error.toUserError() };
    throw error;
  }
  const reservation = await deps.wallet.reserve({
    payoutId,
    sellerId: command.sellerId,
    currency: command.currency,
    amountMinor: command.amountMinor,
    minAmountMinor: minimumPayoutMinor(deps.config.minimumMajor, command.currency),
  });
  if (!reservation.ok && reservation.code === 'RESERVATION_RELEASED') {
    // An earlier run under this key reserved, could not save the payout and gave the amount back
    // (compensate, or the sweep of abandoned reservations). The payout id is derived from the
    // key, so this key can never make a payout.
    return rolledBack();
  }
  if (!reservation.ok) return { error: reservationRefusal(command, reservation.availableMinor, deps.config.minimumMajor).toUserError() };
  invariant(reservation.amountMinor > 0n, 'wallet reserved a non-positive amount');
  invariant(command.amountMinor === null || reservation.amountMinor === command.amountMinor, 'wallet reserved another amount than asked');

  let payoutAmountMinor: bigint;
  try {
    payoutAmountMinor = payoutAmountMinorFor(command, reservation.amountMinor, planned);
  } catch (error) {
    if (!(error instanceof DomainError)) throw error;
    // The whole balance is worth nothing there: no payout will ever use this reservation, so it
    // is given back now rather than held until the sweep of abandoned reservations.
    await compensate(deps, payoutId, error);
    return { error: error.toUserError() };
  }
  const payout = buildPayout(command, payoutId, callerId, { amountMinor: reservation.amountMinor, payoutAmountMinor }, planned);
  try {
    await deps.db.$transaction(async (tx) => {
      // The sweep (release-abandoned-reservations.ts) may have given the reservation up while
      // this run was stalled: decided under the payout id's lock, so the payout and the
      // abandonment never both commit.
      await lockPayoutId(tx, payoutId);
      if (await isReservationAbandoned(tx, payoutId)) throw new ReservationAbandonedError(`the reservation of ${payoutId} was given up before its payout was saved`);
      await insertPayout(tx, payout);
      await writePayoutEvent(tx, { key: 'payout.requested@1', payload: payoutRequestedPayload(payout) });
    });
  } catch (error) {
    await compensate(deps, payoutId, error);
    if (error instanceof ReservationAbandonedError) return rolledBack();
    throw error;
  }
  deps.onOutboxWritten?.();
  deps.logger.info({ payoutId, sellerId: payout.sellerId, amountMinor: payout.amountMinor.toString(), currency: payout.currency }, 'payout requested');
  return { payoutId };
}

/**
 * The payout could not be saved after the wallet reserved its amount: give the amount back,
 * unless the save did commit after all (an ambiguous failure), in which case the reservation
 * belongs to the saved payout.
 */
async function compensate(deps: PayoutsDeps, payoutId: string, cause: unknown): Promise<void> {
  try {
    if (await findPayout(deps.db, payoutId)) return;
    const released = await deps.wallet.release(payoutId);
    deps.logger.warn({ payoutId, released, err: cause }, 'payout not saved; wallet reservation released');
  } catch (error) {
    // A retry with the same idempotency key reuses the reservation (same payout id).
    deps.logger.error({ payoutId, err: error }, 'payout not saved and its reservation could not be released');
  }
}

export async function requestPayout(deps: PayoutsDeps, caller: Caller, command: RequestPayoutCommand): Promise<RequestPayoutResult> {
  authorizePayoutRequest(caller, command.sellerId);
  validatePayoutRequest(command, deps.config.minimumMajor);
  const callerId = callerKey(caller);
  const payoutId = payoutIdFor(callerId, command.idempotencyKey);
  const { response, replayed } = await runIdempotent({
    db: deps.db,
    callerId,
    key: command.idempotencyKey,
    operation: REQUEST_PAYOUT_OPERATION,
    request: { sellerId: command.sellerId, currency: command.currency, amountMinor: command.amountMinor },
    lockTtlMs: deps.config.idempotencyLockTtlMs,
    execute: async () => ({ response: (await execute(deps, command, payoutId, callerId)) as unknown as JsonValue }),
  });
  const stored = response as unknown as StoredResponse;
  if ('error' in stored) {
    throw new DomainError(stored.error.code, stored.error.message, stored.error.field ? { field: stored.error.field } : {});
  }
  const payout = await findPayout(deps.db, stored.payoutId);
  invariant(payout !== null, `payout ${stored.payoutId} of a completed request is missing`);
  return { payout, replayed };
}
