// The daily payout run across its page cap, against the real PostgreSQL, RabbitMQ, PSP simulator
// and the real wallet's balance and reservation routes (testing/wallet.test-support.ts): a run
// that stops at its cap stores the wallet's cursor in scheduled_payout_runs; the scheduler's next
// tick continues the same day from there until it completes, every seller paid exactly once; a
// completed day is not run again, not even by a restarted scheduler.
import { randomBytes } from 'node:crypto';
import { startDailySchedule, startHarness, waitFor, type Harness } from '../testing/harness.test-support.js';
import type { PayoutsDeps } from './deps.js';
import { runDueScheduledPayouts, runScheduledPayouts, scheduledIdempotencyKey, utcDay, type ScheduledRunLimits, type ScheduledRunSummary } from './scheduled-payouts.js';

jest.setTimeout(60_000);

/** One balance a page, two pages a run: five sellers take three runs. */
const CAPPED: ScheduledRunLimits = { pageSize: 1, pagesMax: 2 };
let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h?.stop();
});

function seller(label: string): string {
  return `${label}${randomBytes(4).toString('hex')}`;
}

interface RunRow {
  resume_after: string | null;
  completed: boolean;
}

async function runRow(day: string): Promise<RunRow | undefined> {
  const rows = await h.service.deps.db.$queryRawUnsafe<RunRow[]>(
    `SELECT resume_after, completed_at IS NOT NULL AS completed FROM scheduled_payout_runs WHERE day = $1::date`,
    day,
  );
  return rows[0];
}

/** Every payout of the seller: its idempotency key and amount. */
async function payoutsOf(sellerId: string): Promise<{ idempotency_key: string; amount_minor: bigint }[]> {
  return h.service.deps.db.$queryRawUnsafe(`SELECT idempotency_key, amount_minor FROM payouts WHERE seller_id = $1 ORDER BY created_at`, sellerId);
}

/** The harness's deps with the wallet's balance listing counted (the real wallet answers). */
function countingListings(): { deps: PayoutsDeps; listings: () => number } {
  const wallet = h.service.deps.wallet;
  let listings = 0;
  return {
    deps: { ...h.service.deps, wallet: { ...wallet, listAvailableBalances: (...args) => { listings += 1; return wallet.listAvailableBalances(...args); } } },
    listings: () => listings,
  };
}

function visited(summary: ScheduledRunSummary): number {
  return summary.requested + summary.replayed + summary.skipped + summary.failed;
}

async function sleep(ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms));
}

describe('a scheduled run capped at its page cap', () => {
  const sellers: { sellerId: string; amountMinor: bigint }[] = [];
  let today: string;

  it('is continued by the next scheduler ticks from the stored cursor until the day completes: every seller paid exactly once', async () => {
    for (let i = 0; i < 5; i++) sellers.push({ sellerId: seller(`cap${i}`), amountMinor: 1_000n + BigInt(i) });
    for (const { sellerId, amountMinor } of sellers) await h.wallet.credit(sellerId, 'USD', amountMinor);

    const runs: ScheduledRunSummary[] = [];
    const rowsAfterRuns: (RunRow | undefined)[] = [];
    const jobs = startDailySchedule(async (now, dueDay) => {
      const summary = await runDueScheduledPayouts(h.service.deps, now, dueDay, CAPPED);
      if (summary) {
        runs.push(summary);
        rowsAfterRuns.push(await runRow(summary.day));
      }
      return summary;
    });
    try {
      await waitFor(async () => runs.some((run) => run.complete), 30_000, 'the day to complete');
      // Several more ticks: the completed day is not run again.
      await sleep(600);
    } finally {
      await jobs.stop();
    }

    today = runs[0]?.day ?? '';
    expect(today).toBe(utcDay(new Date()));
    expect(runs.every((run) => run.day === today)).toBe(true);
    // The first run stopped at its cap, its cursor stored; the last completed; none after it.
    expect(runs[0]?.complete).toBe(false);
    expect(rowsAfterRuns[0]).toEqual({ resume_after: expect.any(String), completed: false });
    expect(runs.filter((run) => run.complete)).toHaveLength(1);
    expect(runs.at(-1)?.complete).toBe(true);
    expect(await runRow(today)).toMatchObject({ completed: true });
    // Each run went on where the last stopped: five balances visited once in all.
    expect(runs.reduce((sum, run) => sum + visited(run), 0)).toBe(sellers.length);
    expect(runs.reduce((sum, run) => sum + run.requested, 0)).toBe(sellers.length);

    for (const { sellerId, amountMinor } of sellers) {
      expect(await payoutsOf(sellerId)).toEqual([{ idempotency_key: scheduledIdempotencyKey(sellerId, 'USD', today), amount_minor: amountMinor }]);
      expect(await h.wallet.balance(sellerId, 'USD')).toEqual({ availableMinor: 0n, reservedMinor: amountMinor });
    }
  });

  it('a completed day is not run again: not by a restarted scheduler, not on demand', async () => {
    // A seller with money now: a second run of the day would pay it.
    const late = seller('late');
    await h.wallet.credit(late, 'USD', 2_000n);
    const { deps, listings } = countingListings();

    const ticks: (ScheduledRunSummary | null)[] = [];
    const jobs = startDailySchedule(async (now, dueDay) => {
      const summary = await runDueScheduledPayouts(deps, now, dueDay, CAPPED);
      ticks.push(summary);
      return summary;
    });
    try {
      await waitFor(async () => ticks.length > 0, 10_000, 'the first tick');
      await sleep(600);
    } finally {
      await jobs.stop();
    }
    // One look at the database found the day complete; the scheduler then left it alone.
    expect(ticks).toEqual([null]);

    const again = await runScheduledPayouts(deps, new Date(), CAPPED);
    expect(again).toMatchObject({ day: today, complete: true, alreadyComplete: true, requested: 0, replayed: 0, skipped: 0, failed: 0 });
    expect(listings()).toBe(0);
    expect(await payoutsOf(late)).toEqual([]);
    expect(await h.wallet.balance(late, 'USD')).toEqual({ availableMinor: 2_000n, reservedMinor: 0n });
    for (const { sellerId } of sellers) expect(await payoutsOf(sellerId)).toHaveLength(1);
  });
});

describe('which day a tick runs', () => {
  /**
   * Pays every seller with money so that the days below start from an empty listing. A tick at
   * `at` (runScheduledPayouts would refuse these days: they are past the retention today).
   */
  async function payEveryone(at: Date): Promise<void> {
    expect(await runDueScheduledPayouts(h.service.deps, at, utcDay(at))).toMatchObject({ complete: true });
  }

  it('a day left incomplete at midnight is continued before the next day is due; then the next day runs when due', async () => {
    await payEveryone(new Date('2020-02-29T02:00:00Z'));
    const dayOne = ['a', 'b', 'c'].map((label) => seller(`carry${label}`));
    for (const sellerId of dayOne) await h.wallet.credit(sellerId, 'USD', 700n);

    const first = await runDueScheduledPayouts(h.service.deps, new Date('2020-03-01T23:59:00Z'), '2020-03-01', { pageSize: 1, pagesMax: 1 });
    expect(first).toMatchObject({ day: '2020-03-01', complete: false, requested: 1 });

    // After midnight, before the new day's run time (dueDay null): the old day goes on.
    const second = await runDueScheduledPayouts(h.service.deps, new Date('2020-03-02T00:01:00Z'), null, { pageSize: 1, pagesMax: 1 });
    expect(second).toMatchObject({ day: '2020-03-01', complete: false, requested: 1 });
    const third = await runDueScheduledPayouts(h.service.deps, new Date('2020-03-02T00:02:00Z'), null, { pageSize: 1, pagesMax: 10 });
    expect(third).toMatchObject({ day: '2020-03-01', complete: true, requested: 1 });
    expect(await runDueScheduledPayouts(h.service.deps, new Date('2020-03-02T00:03:00Z'), null)).toBeNull();
    for (const sellerId of dayOne) {
      expect(await payoutsOf(sellerId)).toEqual([{ idempotency_key: scheduledIdempotencyKey(sellerId, 'USD', '2020-03-01'), amount_minor: 700n }]);
    }

    // The new day, once due, runs once.
    const dayTwo = seller('carrynext');
    await h.wallet.credit(dayTwo, 'USD', 900n);
    expect(await runDueScheduledPayouts(h.service.deps, new Date('2020-03-02T02:00:00Z'), '2020-03-02')).toMatchObject({ day: '2020-03-02', complete: true, requested: 1 });
    expect(await runDueScheduledPayouts(h.service.deps, new Date('2020-03-02T02:01:00Z'), '2020-03-02')).toBeNull();
    expect(await payoutsOf(dayTwo)).toEqual([{ idempotency_key: scheduledIdempotencyKey(dayTwo, 'USD', '2020-03-02'), amount_minor: 900n }]);
  });

  it("a day still incomplete when the next day is due is superseded by the next day's run, which pays its sellers once", async () => {
    await payEveryone(new Date('2020-03-31T02:00:00Z'));
    const waiting = ['a', 'b'].map((label) => seller(`super${label}`));
    for (const sellerId of waiting) await h.wallet.credit(sellerId, 'USD', 500n);
    expect(await runDueScheduledPayouts(h.service.deps, new Date('2020-04-01T02:00:00Z'), '2020-04-01', { pageSize: 1, pagesMax: 1 })).toMatchObject({ day: '2020-04-01', complete: false, requested: 1 });

    const next = await runDueScheduledPayouts(h.service.deps, new Date('2020-04-02T02:00:00Z'), '2020-04-02');
    expect(next).toMatchObject({ day: '2020-04-02', complete: true, requested: 1 });
    expect(await runDueScheduledPayouts(h.service.deps, new Date('2020-04-02T03:00:00Z'), '2020-04-02')).toBeNull();
    expect(await runDueScheduledPayouts(h.service.deps, new Date('2020-04-03T00:30:00Z'), null)).toBeNull();
    const keys = (await Promise.all(waiting.map(payoutsOf))).flat().map((payout) => payout.idempotency_key).sort();
    expect(keys).toEqual([
      scheduledIdempotencyKey(waiting[0] ?? '', 'USD', '2020-04-01'),
      scheduledIdempotencyKey(waiting[1] ?? '', 'USD', '2020-04-02'),
    ].sort());
  });
});
