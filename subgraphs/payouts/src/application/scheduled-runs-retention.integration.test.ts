// Retention of the daily payout run's records (scheduled_payout_runs, scheduled_payout_failures),
// against the real database: the service's own housekeeping job (every CLEANUP_INTERVAL_MS, with
// the idempotency keys) deletes the days older than IDEMPOTENCY_KEY_RETENTION_MS with their
// failures, and keeps every day a run could still work on: today, yesterday, the latest day that
// started (runDueScheduledPayouts resumes it while it is incomplete), a day a run holds.
import { randomBytes } from 'node:crypto';
import { startHarness, waitFor, type Harness } from '../testing/harness.test-support.js';
import { utcDay } from './scheduled-payouts.js';

jest.setTimeout(60_000);

const DAY_MS = 24 * 3_600_000;
let h: Harness;

beforeAll(async () => {
  // 48 h: the days before the day before yesterday are past it.
  h = await startHarness({ CLEANUP_INTERVAL_MS: '1s', IDEMPOTENCY_KEY_RETENTION_MS: '48h' });
});
afterAll(async () => {
  await h?.stop();
});

/** The UTC day `days` days before today. */
function daysAgo(days: number): string {
  return utcDay(new Date(Date.now() - days * DAY_MS));
}

interface DayRecord {
  day: string;
  completed: boolean;
  /** A run holds the day (an unexpired claim). */
  claimed?: boolean;
  failures: number;
}

/** The days' runs and failures, written in one transaction (a housekeeping pass sees all or none). */
async function insertDays(days: readonly DayRecord[]): Promise<void> {
  await h.service.deps.db.$transaction(async (tx) => {
    for (const record of days) {
      await tx.$executeRawUnsafe(
        `INSERT INTO scheduled_payout_runs (day, pages_done_at, completed_at, claim, claimed_until)
         VALUES ($1::date, CASE WHEN $2 THEN now() END, CASE WHEN $2 THEN now() END, 1, CASE WHEN $3 THEN now() + interval '1 hour' END)`,
        record.day,
        record.completed,
        record.claimed === true,
      );
      for (let i = 0; i < record.failures; i++) {
        await tx.$executeRawUnsafe(
          `INSERT INTO scheduled_payout_failures (day, seller_id, currency, attempts, last_error, next_attempt_at) VALUES ($1::date, $2, 'USD', 5, 'wallet unavailable', now())`,
          record.day,
          `ret${randomBytes(4).toString('hex')}`,
        );
      }
    }
  });
}

async function rowsOf(day: string): Promise<{ runs: number; failures: number }> {
  const rows = await h.service.deps.db.$queryRawUnsafe<{ runs: number; failures: number }[]>(
    `SELECT (SELECT count(*)::int FROM scheduled_payout_runs WHERE day = $1::date) AS runs,
            (SELECT count(*)::int FROM scheduled_payout_failures WHERE day = $1::date) AS failures`,
    day,
  );
  return rows[0] ?? { runs: -1, failures: -1 };
}

async function deletedByTheService(day: string): Promise<void> {
  await waitFor(async () => {
    const rows = await rowsOf(day);
    return rows.runs === 0 && rows.failures === 0 ? true : undefined;
  }, 15_000, `the run and failures of ${day} deleted by the housekeeping job`);
}

describe('scheduled payout run retention', () => {
  it('deletes an old completed day with its failures; keeps the latest day that started, incomplete and resumable, however old', async () => {
    await insertDays([
      { day: daysAgo(12), completed: true, failures: 2 },
      { day: daysAgo(9), completed: false, failures: 3 },
    ]);

    await deletedByTheService(daysAgo(12));
    // The latest day that started: runDueScheduledPayouts resumes it before the next run time.
    expect(await rowsOf(daysAgo(9))).toEqual({ runs: 1, failures: 3 });
  });

  it('once later days started: deletes the days older than the retention, completed or superseded; keeps the retention, yesterday, today and a day a run holds', async () => {
    await insertDays([
      { day: daysAgo(20), completed: false, claimed: true, failures: 1 },
      { day: daysAgo(3), completed: true, failures: 1 },
      { day: daysAgo(2), completed: true, failures: 2 },
      { day: daysAgo(1), completed: false, failures: 1 },
      { day: daysAgo(0), completed: false, failures: 1 },
    ]);

    // The day of the first test is superseded now (a later day started) and past the retention.
    await deletedByTheService(daysAgo(9));
    await deletedByTheService(daysAgo(3));
    expect(await rowsOf(daysAgo(2))).toEqual({ runs: 1, failures: 2 });
    expect(await rowsOf(daysAgo(1))).toEqual({ runs: 1, failures: 1 });
    expect(await rowsOf(daysAgo(0))).toEqual({ runs: 1, failures: 1 });
    expect(await rowsOf(daysAgo(20))).toEqual({ runs: 1, failures: 1 });

    // Its run ended (the claim released): the day goes at the next pass.
    await h.service.deps.db.$executeRawUnsafe(`UPDATE scheduled_payout_runs SET claimed_until = NULL WHERE day = $1::date`, daysAgo(20));
    await deletedByTheService(daysAgo(20));
    expect(await rowsOf(daysAgo(2))).toEqual({ runs: 1, failures: 2 });
  });
});
