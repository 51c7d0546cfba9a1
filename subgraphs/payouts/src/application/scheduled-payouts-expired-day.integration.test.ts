// A run of a day older than the retention of its idempotency keys (IDEMPOTENCY_KEY_RETENTION_MS),
// against the real PostgreSQL, RabbitMQ, PSP simulator and the real wallet's routes: housekeeping
// deletes such a day's keys and, with them, its run record (scheduled-runs-retention.ts), so a run
// of it would start the day afresh and could pay its sellers again under keys already deleted. It
// is refused with ScheduledDayExpiredError at every entry point and writes nothing; the scheduler
// never resumes such a day; the oldest day within the retention still runs.
import { randomBytes } from 'node:crypto';
import { startHarness, type Harness } from '../testing/harness.test-support.js';
import { callerKey, payoutIdFor } from './request-payout.js';
import {
  runDueScheduledPayouts, runScheduledPayouts, runScheduledPayoutsOfDay, ScheduledDayExpiredError, SCHEDULER_CALLER, scheduledIdempotencyKey, utcDay,
} from './scheduled-payouts.js';

jest.setTimeout(60_000);

const DAY_MS = 24 * 3_600_000;
let h: Harness;

beforeAll(async () => {
  // 48 h: the day before yesterday is the oldest day within it.
  h = await startHarness({ IDEMPOTENCY_KEY_RETENTION_MS: '48h' });
});
afterAll(async () => {
  await h?.stop();
});

function seller(label: string): string {
  return `${label}${randomBytes(4).toString('hex')}`;
}

/** The UTC day `days` days before `now`. */
function daysAgo(days: number, now = new Date()): string {
  return utcDay(new Date(now.getTime() - days * DAY_MS));
}

interface Written {
  runs: number;
  failures: number;
  payouts: number;
  keys: number;
  outbox: number;
}

/** What the payouts database holds for the seller's scheduled payout of the day. */
async function writtenFor(day: string, sellerId: string): Promise<Written> {
  const rows = await h.service.deps.db.$queryRawUnsafe<Written[]>(
    `SELECT (SELECT count(*)::int FROM scheduled_payout_runs WHERE day = $1::date) AS runs,
            (SELECT count(*)::int FROM scheduled_payout_failures WHERE day = $1::date) AS failures,
            (SELECT count(*)::int FROM payouts WHERE seller_id = $2) AS payouts,
            (SELECT count(*)::int FROM idempotency_keys WHERE key = $3) AS keys,
            (SELECT count(*)::int FROM outbox_messages WHERE payload::text LIKE '%' || $2 || '%') AS outbox`,
    day,
    sellerId,
    scheduledIdempotencyKey(sellerId, 'USD', day),
  );
  return rows[0] ?? { runs: -1, failures: -1, payouts: -1, keys: -1, outbox: -1 };
}

function reservationOf(sellerId: string, day: string): Promise<string | null> {
  return h.wallet.reservationStatus(payoutIdFor(callerKey(SCHEDULER_CALLER), scheduledIdempotencyKey(sellerId, 'USD', day)));
}

const NOTHING: Written = { runs: 0, failures: 0, payouts: 0, keys: 0, outbox: 0 };

describe('a scheduled run of a day older than the retention of its keys', () => {
  it('is not resumed by the scheduler when it is the latest day that started (first here, so that no later day started) and is incomplete; the day that is due pays its sellers', async () => {
    const old = daysAgo(5);
    const sellerId = seller('stale');
    await h.wallet.credit(sellerId, 'USD', 2_000n);
    // The day started and stopped (a crash, a page cap), as if the service was down since.
    await h.service.deps.db.$executeRawUnsafe(`INSERT INTO scheduled_payout_runs (day, claim, claimed_until) VALUES ($1::date, 1, NULL)`, old);
    const now = new Date();

    // Before today's run time: nothing to do (the old day is past the retention).
    expect(await runDueScheduledPayouts(h.service.deps, now, null)).toBeNull();
    expect(await writtenFor(old, sellerId)).toEqual({ ...NOTHING, runs: 1 });
    const stored = await h.service.deps.db.$queryRawUnsafe<{ claim: number; resume_after: string | null; completed: boolean }[]>(
      `SELECT claim, resume_after, completed_at IS NOT NULL AS completed FROM scheduled_payout_runs WHERE day = $1::date`,
      old,
    );
    expect(stored).toEqual([{ claim: 1, resume_after: null, completed: false }]);
    expect(await reservationOf(sellerId, old)).toBeNull();
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 2_000n, reservedMinor: 0n });

    // Today's run, once due, pays the seller under today's key.
    const today = utcDay(now);
    expect(await runDueScheduledPayouts(h.service.deps, now, today)).toMatchObject({ day: today, complete: true });
    expect(await writtenFor(old, sellerId)).toMatchObject({ runs: 1, payouts: 1, keys: 0 });
    expect(await writtenFor(today, sellerId)).toMatchObject({ runs: 1, payouts: 1, keys: 1 });
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 0n, reservedMinor: 2_000n });
  });

  it('is refused with ScheduledDayExpiredError at every entry point and writes nothing: no run, no payout, no key, no wallet reservation', async () => {
    const sellerId = seller('expired');
    await h.wallet.credit(sellerId, 'USD', 1_500n);
    const at = new Date(Date.now() - 3 * DAY_MS);
    const day = utcDay(at);
    const expected = { code: 'INVALID_INPUT', day, oldestRunnableDay: daysAgo(2) };

    // The operator's entry (app.ts), the use case it calls, and the run of a named day.
    await expect(h.service.runScheduledPayouts(at)).rejects.toThrow(ScheduledDayExpiredError);
    await expect(runScheduledPayouts(h.service.deps, at)).rejects.toMatchObject(expected);
    await expect(runScheduledPayoutsOfDay(h.service.deps, day)).rejects.toMatchObject(expected);
    await expect(runScheduledPayoutsOfDay(h.service.deps, daysAgo(30))).rejects.toThrow(ScheduledDayExpiredError);

    expect(await writtenFor(day, sellerId)).toEqual(NOTHING);
    expect(await reservationOf(sellerId, day)).toBeNull();
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 1_500n, reservedMinor: 0n });
  });

  it('the oldest day within the retention still runs (its keys and its record are kept)', async () => {
    const sellerId = seller('edge');
    await h.wallet.credit(sellerId, 'USD', 1_700n);
    const day = daysAgo(2);
    expect(await runScheduledPayoutsOfDay(h.service.deps, day)).toMatchObject({ day, complete: true, alreadyComplete: false });
    expect(await writtenFor(day, sellerId)).toMatchObject({ runs: 1, payouts: 1, keys: 1 });
    expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 0n, reservedMinor: 1_700n });
  });
});
