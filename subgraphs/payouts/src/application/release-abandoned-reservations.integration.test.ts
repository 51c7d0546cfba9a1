// Wallet reservations that no payout exists for (the payout could not be saved and the wallet
// could not be reached to give the amount back, or payouts crashed between reserving and saving)
// are released once older than RESERVATION_SWEEP_GRACE_MS, never while their payout exists or
// could still be saved. Real PostgreSQL, RabbitMQ, PSP simulator and the real wallet routes.
import { randomBytes } from 'node:crypto';
import { DomainError, type Caller } from '@clearhouse/shared';
import { freePort } from '@clearhouse/shared/testkit';
import { createWalletClient, type WalletReservations } from '../clients/wallet.js';
import { findPayout } from '../persistence/payouts.js';
import { failingNextTransaction } from '../testing/faults.test-support.js';
import { startHarness, type Harness } from '../testing/harness.test-support.js';
import type { PayoutsDeps } from './deps.js';
import { callerKey, payoutIdFor, requestPayout, type RequestPayoutCommand } from './request-payout.js';

jest.setTimeout(60_000);

const platform: Caller = { role: 'platform', keyId: 'key_platform', sellerId: null };
const MINUTE_MS = 60_000;
let h: Harness;
let graceMs: number;

beforeAll(async () => {
  h = await startHarness();
  graceMs = h.env.RESERVATION_SWEEP_GRACE_MS;
});
afterAll(async () => {
  await h?.stop();
});

function command(label: string, amountMinor: bigint): RequestPayoutCommand {
  return { idempotencyKey: `k_${randomBytes(8).toString('hex')}`, sellerId: `${label}${randomBytes(4).toString('hex')}`, currency: 'USD', amountMinor };
}

async function codeOf(run: () => Promise<unknown>): Promise<string> {
  try {
    await run();
  } catch (error) {
    return error instanceof DomainError ? error.code : `not a DomainError: ${String(error)}`;
  }
  return 'no error';
}

/** What the payouts database holds for a payout id: its row and its outbox events. */
async function written(payoutId: string): Promise<{ payouts: number; events: number }> {
  const db = h.service.deps.db;
  const payouts = await db.$queryRawUnsafe<{ n: bigint }[]>('SELECT count(*) AS n FROM payouts WHERE id = $1', payoutId);
  const events = await db.$queryRawUnsafe<{ n: bigint }[]>('SELECT count(*) AS n FROM outbox_messages WHERE correlation_id = $1', payoutId);
  return { payouts: Number(payouts[0]?.n), events: Number(events[0]?.n) };
}

/** The released-reservations counter as the service's /metrics endpoint reports it (0 before the first release). */
async function releasedMetric(): Promise<number> {
  const text = await (await fetch(`${h.service.http.url}/metrics`)).text();
  const line = text.split('\n').find((entry) => entry.startsWith('clearhouse_payout_abandoned_reservations_released_total'));
  if (line === undefined) throw new Error('clearhouse_payout_abandoned_reservations_released_total is not on /metrics');
  return Number(line.slice(line.lastIndexOf(' ') + 1));
}

/** A real wallet client whose wallet cannot be reached (nothing listens on its port). */
async function unreachableWallet(): Promise<WalletReservations> {
  return createWalletClient({ baseUrl: `http://127.0.0.1:${await freePort()}`, signingSecret: h.signingSecret, timeoutMs: 1_000 });
}

/** The payout cannot be saved after the reservation, and the wallet cannot be reached to give it back. */
async function requestWithFailedCompensation(cmd: RequestPayoutCommand): Promise<string> {
  const unreachable = await unreachableWallet();
  const deps: PayoutsDeps = { ...h.service.deps, db: failingNextTransaction(h.service.deps.db), wallet: { ...h.service.deps.wallet, release: (id) => unreachable.release(id) } };
  await expect(requestPayout(deps, platform, cmd)).rejects.toThrow('connection terminated unexpectedly');
  return payoutIdFor(callerKey(platform), cmd.idempotencyKey);
}

describe('releasing reservations no payout exists for', () => {
  it('a reservation left held by a failed compensation is released after the grace period; the balance is restored exactly; a retry with the key gets INVALID_STATE', async () => {
    const cmd = command('stuck', 4_000n);
    await h.wallet.credit(cmd.sellerId, 'USD', 10_321n);
    const payoutId = await requestWithFailedCompensation(cmd);
    // The defect: the amount is stuck in reserved, with no payout to ever settle it.
    expect(await h.wallet.balance(cmd.sellerId, 'USD')).toEqual({ availableMinor: 6_321n, reservedMinor: 4_000n });
    expect(await written(payoutId)).toEqual({ payouts: 0, events: 0 });

    // Younger than the grace period: kept.
    await h.service.releaseAbandonedReservations();
    expect(await h.wallet.reservationStatus(payoutId)).toBe('held');
    await h.wallet.ageReservation(payoutId, graceMs - MINUTE_MS);
    await h.service.releaseAbandonedReservations();
    expect(await h.wallet.reservationStatus(payoutId)).toBe('held');
    expect(await h.wallet.balance(cmd.sellerId, 'USD')).toEqual({ availableMinor: 6_321n, reservedMinor: 4_000n });

    // Older: released, to the minor unit; a second run changes nothing.
    await h.wallet.ageReservation(payoutId, graceMs + MINUTE_MS);
    const summary = await h.service.releaseAbandonedReservations();
    expect(summary.released).toBeGreaterThanOrEqual(1);
    expect(await h.wallet.reservationStatus(payoutId)).toBe('released');
    expect(await h.wallet.balance(cmd.sellerId, 'USD')).toEqual({ availableMinor: 10_321n, reservedMinor: 0n });
    await h.service.releaseAbandonedReservations();
    expect(await h.wallet.balance(cmd.sellerId, 'USD')).toEqual({ availableMinor: 10_321n, reservedMinor: 0n });

    // The client retries with the same key: a typed error, and nothing is written anywhere.
    expect(await codeOf(() => requestPayout(h.service.deps, platform, cmd))).toBe('INVALID_STATE');
    expect(await codeOf(() => requestPayout(h.service.deps, platform, cmd))).toBe('INVALID_STATE');
    expect(await written(payoutId)).toEqual({ payouts: 0, events: 0 });
    expect(await h.wallet.reservationStatus(payoutId)).toBe('released');
    expect(await h.wallet.balance(cmd.sellerId, 'USD')).toEqual({ availableMinor: 10_321n, reservedMinor: 0n });
  });

  it('a reservation of a run that crashed between reserving and saving is released after the grace period', async () => {
    const cmd = command('crash', 2_500n);
    await h.wallet.credit(cmd.sellerId, 'USD', 2_500n);
    const payoutId = payoutIdFor(callerKey(platform), cmd.idempotencyKey);
    // What the run did before it crashed: the reservation, and nothing in the payouts database.
    const reserved = await h.service.deps.wallet.reserve({ payoutId, sellerId: cmd.sellerId, currency: 'USD', amountMinor: 2_500n, minAmountMinor: 100n });
    expect(reserved).toMatchObject({ ok: true, amountMinor: 2_500n });
    await h.wallet.ageReservation(payoutId, graceMs + MINUTE_MS);

    await h.service.releaseAbandonedReservations();
    expect(await h.wallet.balance(cmd.sellerId, 'USD')).toEqual({ availableMinor: 2_500n, reservedMinor: 0n });
    expect(await codeOf(() => requestPayout(h.service.deps, platform, cmd))).toBe('INVALID_STATE');
    expect(await written(payoutId)).toEqual({ payouts: 0, events: 0 });
    expect(await h.wallet.balance(cmd.sellerId, 'USD')).toEqual({ availableMinor: 2_500n, reservedMinor: 0n });
  });

  it('never releases the held reservation of a payout that exists, however old', async () => {
    const cmd = command('saved', 1_500n);
    await h.wallet.credit(cmd.sellerId, 'USD', 5_000n);
    const { payout } = await requestPayout(h.service.deps, platform, cmd);
    await h.wallet.ageReservation(payout.id, 30 * 24 * 60 * MINUTE_MS);

    await h.service.releaseAbandonedReservations();
    expect(await h.wallet.reservationStatus(payout.id)).toBe('held');
    expect(await h.wallet.balance(cmd.sellerId, 'USD')).toEqual({ availableMinor: 3_500n, reservedMinor: 1_500n });
    expect(await findPayout(h.service.deps.db, payout.id)).not.toBeNull();
  });

  /** Runs the sweep after the wallet reserved for the request and before the request saves its payout. */
  function sweepingAfterReserve(beforeSweep: (payoutId: string) => Promise<void>): PayoutsDeps {
    const wallet = h.service.deps.wallet;
    return {
      ...h.service.deps,
      wallet: {
        ...wallet,
        async reserve(request) {
          const result = await wallet.reserve(request);
          await h.wallet.ageReservation(request.payoutId, graceMs + MINUTE_MS);
          await beforeSweep(request.payoutId);
          await h.service.releaseAbandonedReservations();
          return result;
        },
      },
    };
  }

  it('keeps the reservation of a request still running under its idempotency key; the payout is saved on it', async () => {
    const cmd = command('live', 1_000n);
    await h.wallet.credit(cmd.sellerId, 'USD', 3_000n);
    const { payout } = await requestPayout(sweepingAfterReserve(async () => undefined), platform, cmd);
    expect(payout.amountMinor).toBe(1_000n);
    expect(await h.wallet.reservationStatus(payout.id)).toBe('held');
    expect(await h.wallet.balance(cmd.sellerId, 'USD')).toEqual({ availableMinor: 2_000n, reservedMinor: 1_000n });
  });

  it('a request that outlived its lock cannot save its payout once the sweep released the reservation', async () => {
    const cmd = command('stale', 1_000n);
    await h.wallet.credit(cmd.sellerId, 'USD', 3_000n);
    // The run stalls past its lock TTL (as a paused process would) while its save is in flight.
    const expireLock = async () => {
      await h.service.deps.db.$executeRawUnsafe(`UPDATE idempotency_keys SET locked_until = now() - interval '1 second' WHERE key = $1`, cmd.idempotencyKey);
    };
    expect(await codeOf(() => requestPayout(sweepingAfterReserve(expireLock), platform, cmd))).toBe('INVALID_STATE');
    const payoutId = payoutIdFor(callerKey(platform), cmd.idempotencyKey);
    expect(await written(payoutId)).toEqual({ payouts: 0, events: 0 });
    expect(await h.wallet.reservationStatus(payoutId)).toBe('released');
    expect(await h.wallet.balance(cmd.sellerId, 'USD')).toEqual({ availableMinor: 3_000n, reservedMinor: 0n });
    expect(await codeOf(() => requestPayout(h.service.deps, platform, cmd))).toBe('INVALID_STATE');
    expect(await written(payoutId)).toEqual({ payouts: 0, events: 0 });
  });

  it('counts each release on /metrics (clearhouse_payout_abandoned_reservations_released_total); a sweep that releases nothing adds nothing', async () => {
    const before = await releasedMetric();
    const cmds = [command('metrica', 1_100n), command('metricb', 1_200n)];
    for (const cmd of cmds) {
      await h.wallet.credit(cmd.sellerId, 'USD', cmd.amountMinor ?? 0n);
      const payoutId = payoutIdFor(callerKey(platform), cmd.idempotencyKey);
      expect(await h.service.deps.wallet.reserve({ payoutId, sellerId: cmd.sellerId, currency: 'USD', amountMinor: cmd.amountMinor, minAmountMinor: 100n })).toMatchObject({ ok: true });
      await h.wallet.ageReservation(payoutId, graceMs + MINUTE_MS);
    }

    const summary = await h.service.releaseAbandonedReservations();
    expect(summary.released).toBe(2);
    expect(await releasedMetric()).toBe(before + 2);
    for (const cmd of cmds) expect(await h.wallet.reservationStatus(payoutIdFor(callerKey(platform), cmd.idempotencyKey))).toBe('released');

    expect((await h.service.releaseAbandonedReservations()).released).toBe(0);
    expect(await releasedMetric()).toBe(before + 2);
  });
});

describe('retention of abandoned_reservations', () => {
  const HOUR_MS = 60 * MINUTE_MS;

  /** Records an abandoned reservation directly: abandoned `abandonedAgoMs` ago, released `releasedAgoMs` ago (null: not released). */
  async function seed(label: string, abandonedAgoMs: number, releasedAgoMs: number | null): Promise<string> {
    const payoutId = `payout_${label}_${randomBytes(6).toString('hex')}`;
    await h.service.deps.db.$executeRawUnsafe(
      `INSERT INTO abandoned_reservations (payout_id, seller_id, currency, amount_minor, abandoned_at, released_at)
       VALUES ($1, $2, 'USD', 100, now() - ($3::bigint * interval '1 millisecond'),
               CASE WHEN $4::bigint IS NULL THEN NULL ELSE now() - ($4::bigint * interval '1 millisecond') END)`,
      payoutId,
      `seller_${label}`,
      abandonedAgoMs,
      releasedAgoMs,
    );
    return payoutId;
  }

  async function kept(payoutIds: readonly string[]): Promise<string[]> {
    const rows = await h.service.deps.db.$queryRawUnsafe<{ payout_id: string }[]>(`SELECT payout_id FROM abandoned_reservations WHERE payout_id = ANY($1::text[]) ORDER BY payout_id`, [...payoutIds]);
    return rows.map((row) => row.payout_id);
  }

  it('the sweep deletes rows released longer than IDEMPOTENCY_KEY_RETENTION_MS ago; keeps recently released and unreleased rows, however old', async () => {
    const retentionMs = h.env.IDEMPOTENCY_KEY_RETENTION_MS;
    const oldReleased = await seed('oldrel', retentionMs + 3 * HOUR_MS, retentionMs + HOUR_MS);
    const recentReleased = await seed('recentrel', retentionMs + 3 * HOUR_MS, retentionMs - HOUR_MS);
    const oldUnreleased = await seed('oldunrel', 30 * 24 * HOUR_MS, null);
    const all = [oldReleased, recentReleased, oldUnreleased];
    expect(await kept(all)).toEqual([...all].sort());

    const summary = await h.service.releaseAbandonedReservations();
    expect(await kept(all)).toEqual([recentReleased, oldUnreleased].sort());
    expect(summary.deleted).toBe(1);
    // Unreleased rows still forbid their payout; nothing else was touched.
    expect(await h.service.deps.db.$queryRawUnsafe<{ released_at: Date | null }[]>(`SELECT released_at FROM abandoned_reservations WHERE payout_id = $1`, oldUnreleased)).toEqual([{ released_at: null }]);
  });
});
