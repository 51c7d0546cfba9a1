// The daily payout run when a seller's payout fails for an unexpected reason, and when two payouts
// instances run the same day at once, against the real PostgreSQL, RabbitMQ, PSP simulator and the
// real wallet's routes (testing/wallet.test-support.ts).
//
// The fault is real: the seller's wallet balance row is locked by another session, so the wallet's
// reservation waits and the payouts client gives up after WALLET_TIMEOUT_MS; once the lock goes,
// the waiting reservation goes through in the wallet although no payout was saved. A later tick
// retries under the same idempotency key and the wallet replays that reservation: paid once.
//
// A second instance is another pool on the same database. The cursor's every write is recorded by
// a trigger this test adds, so a cursor moved backwards is seen even when it is moved forward again.
import { randomBytes } from 'node:crypto';
import { createPgDatabase, type MessagingLogger, type PgDatabase } from '@clearhouse/shared';
import { startDailySchedule, startHarness, waitFor, type Harness } from '../testing/harness.test-support.js';
import type { PayoutsDeps } from './deps.js';
import { callerKey, payoutIdFor } from './request-payout.js';
import {
  runDueScheduledPayouts, runScheduledPayoutsOfDay, SCHEDULER_CALLER, scheduledIdempotencyKey, type ScheduledRunLimits, type ScheduledRunSummary,
} from './scheduled-payouts.js';

jest.setTimeout(60_000);

const HOUR_MS = 3_600_000;
const WALLET_TIMEOUT_MS = 500;
let h: Harness;
const pools: PgDatabase[] = [];

beforeAll(async () => {
  h = await startHarness({ WALLET_TIMEOUT_MS: String(WALLET_TIMEOUT_MS) });
  // Every write of a run's cursor, in order (a test instrument; the service never reads it).
  await h.service.deps.db.$executeRawUnsafe(`CREATE TABLE test_cursor_writes (n BIGSERIAL PRIMARY KEY, day DATE NOT NULL, resume_after TEXT)`);
  await h.service.deps.db.$executeRawUnsafe(
    `CREATE FUNCTION test_record_cursor_write() RETURNS trigger LANGUAGE plpgsql AS $$
     BEGIN
       IF NEW.resume_after IS DISTINCT FROM OLD.resume_after THEN
         INSERT INTO test_cursor_writes (day, resume_after) VALUES (NEW.day, NEW.resume_after);
       END IF;
       RETURN NEW;
     END $$`,
  );
  await h.service.deps.db.$executeRawUnsafe(`CREATE TRIGGER test_cursor_writes AFTER UPDATE ON scheduled_payout_runs FOR EACH ROW EXECUTE FUNCTION test_record_cursor_write()`);
});
afterAll(async () => {
  for (const pool of pools) await pool.end();
  await h?.stop();
});

function seller(label: string): string {
  return `${label}${randomBytes(4).toString('hex')}`;
}

/** Every payout of the seller: its idempotency key and amount. */
async function payoutsOf(sellerId: string): Promise<{ idempotency_key: string; amount_minor: bigint }[]> {
  return h.service.deps.db.$queryRawUnsafe(`SELECT idempotency_key, amount_minor FROM payouts WHERE seller_id = $1 ORDER BY created_at`, sellerId);
}

async function failuresOf(day: string): Promise<{ seller_id: string; currency: string; attempts: number; last_error: string }[]> {
  return h.service.deps.db.$queryRawUnsafe(`SELECT seller_id, currency, attempts, last_error FROM scheduled_payout_failures WHERE day = $1::date ORDER BY seller_id`, day);
}

async function runRow(day: string): Promise<{ resume_after: string | null; completed: boolean } | undefined> {
  const rows = await h.service.deps.db.$queryRawUnsafe<{ resume_after: string | null; completed: boolean }[]>(
    `SELECT resume_after, completed_at IS NOT NULL AS completed FROM scheduled_payout_runs WHERE day = $1::date`,
    day,
  );
  return rows[0];
}

/** The stored cursors of the day, in the order they were written (null: pages done). */
async function cursorWrites(day: string): Promise<(string | null)[]> {
  const rows = await h.service.deps.db.$queryRawUnsafe<{ resume_after: string | null }[]>(`SELECT resume_after FROM test_cursor_writes WHERE day = $1::date ORDER BY n`, day);
  return rows.map((row) => row.resume_after);
}

/** The seller a wallet balances cursor names (the wallet's cursor: base64url of "balances\n<seller>\n<currency>"). */
function sellerOfCursor(cursor: string): string {
  const [tag, sellerId] = Buffer.from(cursor, 'base64url').toString('utf8').split('\n');
  if (tag !== 'balances' || !sellerId) throw new Error(`not a balances cursor: ${cursor}`);
  return sellerId;
}

/** Asserts the day's cursor only ever moved forward through `ordered` (sellers in the wallet's order), never back. */
async function expectCursorNeverBack(day: string, ordered: readonly string[]): Promise<void> {
  const writes = await cursorWrites(day);
  expect(writes.length).toBeGreaterThan(0);
  const positions = writes.map((cursor) => (cursor === null ? ordered.length : ordered.indexOf(sellerOfCursor(cursor))));
  expect(positions.every((position) => position >= 0)).toBe(true);
  const backwards = positions.filter((position, i) => i > 0 && position < (positions[i - 1] ?? 0));
  expect({ positions, backwards }).toEqual({ positions, backwards: [] });
}

/** A second payouts instance: the same code on its own pool of the same database. */
function secondInstance(overrides: Partial<PayoutsDeps> = {}): PayoutsDeps {
  const db = createPgDatabase(h.databaseUrl, { poolMax: 5 });
  pools.push(db);
  return { ...h.service.deps, db, ...overrides };
}

/** The deps with the wallet's answer to its `callNumber`th balance listing held back until `gate` opens (a slow answer). */
function gatedListing(deps: PayoutsDeps, callNumber: number, gate: Promise<void>): PayoutsDeps {
  const wallet = deps.wallet;
  let calls = 0;
  return {
    ...deps,
    wallet: {
      ...wallet,
      listAvailableBalances: async (...args) => {
        calls += 1;
        const page = await wallet.listAvailableBalances(...args);
        if (calls === callNumber) await gate;
        return page;
      },
    },
  };
}

function opener(): { gate: Promise<void>; open: () => void } {
  let open: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => { open = resolve; });
  return { gate, open };
}

interface LogLine {
  level: string;
  obj: Record<string, unknown>;
  msg: string | undefined;
}
function recordingLogger(): { logger: MessagingLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (obj: object, msg?: string) => { lines.push({ level, obj: obj as Record<string, unknown>, msg }); };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

/**
 * Pays every seller with money on a day of its own, so that the days below list only their own
 * sellers. The days are in the future: a run of a day past the retention is refused.
 */
async function payEveryone(day: string): Promise<void> {
  expect(await runScheduledPayoutsOfDay(h.service.deps, day)).toMatchObject({ complete: true });
}

const NO_DELAY: ScheduledRunLimits = { retryDelayMs: 0 };

describe('a seller whose scheduled payout failed for an unexpected reason', () => {
  it('is recorded and retried by a later tick of the day under the same key: paid exactly once, and only then does the day complete', async () => {
    await payEveryone('2031-01-09');
    const day = '2031-01-10';
    const fine = [seller('finea'), seller('fineb')];
    const faulty = seller('faulty');
    for (const sellerId of fine) await h.wallet.credit(sellerId, 'USD', 1_500n);
    await h.wallet.credit(faulty, 'USD', 2_500n);

    const hold = await h.wallet.holdBalanceRow(faulty, 'USD');
    let first: ScheduledRunSummary;
    try {
      first = await runScheduledPayoutsOfDay(h.service.deps, day, NO_DELAY);
    } finally {
      await hold.release();
    }
    // The pages are done, but the day is not: one seller is left to retry.
    expect(first).toMatchObject({ day, requested: 2, failed: 1, retried: 0, complete: false });
    expect(await runRow(day)).toMatchObject({ completed: false });
    expect(await failuresOf(day)).toEqual([{ seller_id: faulty, currency: 'USD', attempts: 1, last_error: expect.stringContaining('wallet') }]);
    expect(await payoutsOf(faulty)).toEqual([]);

    // The reservation the payouts client gave up on went through in the wallet once the lock went.
    const payoutId = payoutIdFor(callerKey(SCHEDULER_CALLER), scheduledIdempotencyKey(faulty, 'USD', day));
    await waitFor(async () => (await h.wallet.reservationStatus(payoutId)) === 'held', 10_000, 'the waiting reservation to go through');

    const second = await runScheduledPayoutsOfDay(h.service.deps, day, NO_DELAY);
    expect(second).toMatchObject({ day, requested: 1, failed: 0, retried: 1, complete: true });
    expect(await failuresOf(day)).toEqual([]);
    expect(await runRow(day)).toMatchObject({ completed: true });
    expect(await payoutsOf(faulty)).toEqual([{ idempotency_key: scheduledIdempotencyKey(faulty, 'USD', day), amount_minor: 2_500n }]);
    expect(await h.wallet.balance(faulty, 'USD')).toEqual({ availableMinor: 0n, reservedMinor: 2_500n });
    for (const sellerId of fine) expect(await payoutsOf(sellerId)).toEqual([{ idempotency_key: scheduledIdempotencyKey(sellerId, 'USD', day), amount_minor: 1_500n }]);

    expect(await runScheduledPayoutsOfDay(h.service.deps, day, NO_DELAY)).toMatchObject({ alreadyComplete: true, requested: 0, retried: 0 });
    expect(await payoutsOf(faulty)).toHaveLength(1);
  });

  it('is retried through the scheduler: a tick after the fault is gone pays it', async () => {
    await payEveryone('2031-02-09');
    // The ticks run 2031-02-10 whatever today is, so that no other test's sellers share the day.
    const now = new Date('2031-02-10T03:00:00Z');
    const faulty = seller('tickfault');
    await h.wallet.credit(faulty, 'USD', 3_000n);
    const hold = await h.wallet.holdBalanceRow(faulty, 'USD');
    const runs: ScheduledRunSummary[] = [];
    let released = false;
    const jobs = startDailySchedule(async (_now, dueDay) => {
      const summary = await runDueScheduledPayouts(h.service.deps, now, dueDay === null ? null : '2031-02-10', NO_DELAY);
      if (summary) runs.push(summary);
      if (!released && summary?.failed === 1) {
        released = true;
        await hold.release();
      }
      return summary;
    });
    try {
      await waitFor(async () => runs.some((run) => run.complete), 30_000, 'the day to complete');
    } finally {
      await jobs.stop();
      if (!released) await hold.release();
    }
    const day = runs[0]?.day ?? '';
    expect(runs[0]).toMatchObject({ failed: 1, complete: false });
    expect(runs.at(-1)).toMatchObject({ complete: true, failed: 0 });
    expect(await payoutsOf(faulty)).toEqual([{ idempotency_key: scheduledIdempotencyKey(faulty, 'USD', day), amount_minor: 3_000n }]);
    expect(await h.wallet.balance(faulty, 'USD')).toEqual({ availableMinor: 0n, reservedMinor: 3_000n });
    expect(await failuresOf(day)).toEqual([]);
  });

  it('is not retried before its delay; after its last attempt the day completes with a warning naming it', async () => {
    await payEveryone('2031-03-09');
    const day = '2031-03-10';
    const stuck = seller('stuck');
    await h.wallet.credit(stuck, 'USD', 1_200n);
    const { logger, lines } = recordingLogger();
    const deps: PayoutsDeps = { ...h.service.deps, logger };
    const hold = await h.wallet.holdBalanceRow(stuck, 'USD');
    try {
      expect(await runScheduledPayoutsOfDay(deps, day, { attemptsMax: 2, retryDelayMs: HOUR_MS })).toMatchObject({ failed: 1, complete: false });
      // Not due for an hour: nothing retried, the day stays open.
      expect(await runScheduledPayoutsOfDay(deps, day, { attemptsMax: 2, retryDelayMs: HOUR_MS })).toMatchObject({ retried: 0, failed: 0, complete: false });
      await h.service.deps.db.$executeRawUnsafe(`UPDATE scheduled_payout_failures SET next_attempt_at = now() WHERE day = $1::date`, day);
      expect(await runScheduledPayoutsOfDay(deps, day, { attemptsMax: 2, retryDelayMs: HOUR_MS })).toMatchObject({ retried: 1, failed: 1, complete: true });
    } finally {
      await hold.release();
    }
    expect(await failuresOf(day)).toEqual([{ seller_id: stuck, currency: 'USD', attempts: 2, last_error: expect.stringContaining('wallet') }]);
    expect(await runRow(day)).toMatchObject({ completed: true });
    const warning = lines.find((line) => line.level === 'warn' && line.obj.day === day && Array.isArray(line.obj.exhausted));
    expect(warning?.obj.exhausted).toEqual([{ sellerId: stuck, currency: 'USD', attempts: 2, lastError: expect.stringContaining('wallet') }]);
    expect(await runScheduledPayoutsOfDay(deps, day, { attemptsMax: 2, retryDelayMs: 0 })).toMatchObject({ alreadyComplete: true, retried: 0 });
    expect(await payoutsOf(stuck)).toEqual([]);
  });
});

describe('two payouts instances running the same day', () => {
  /** Sellers whose ids differ only in one digit: the wallet lists them in this order under any collation. */
  function orderedSellers(label: string, count: number): string[] {
    const suffix = randomBytes(4).toString('hex');
    return Array.from({ length: count }, (_, i) => `${label}${i}${suffix}`);
  }

  it('the second skips the day while the first holds it; the stored cursor never goes back; each seller is paid once', async () => {
    await payEveryone('2031-04-09');
    const day = '2031-04-10';
    const sellers = orderedSellers('race', 6);
    for (const sellerId of sellers) await h.wallet.credit(sellerId, 'USD', 1_100n);

    // Instance A stalls before its second page (a slow wallet); B runs meanwhile.
    const { gate, open } = opener();
    const a = runScheduledPayoutsOfDay(gatedListing(secondInstance(), 2, gate), day, { pageSize: 1, pagesMax: 10 });
    let b: ScheduledRunSummary;
    try {
      await waitFor(async () => (await runRow(day))?.resume_after ?? null, 10_000, 'instance A to store its first cursor');
      b = await runScheduledPayoutsOfDay(secondInstance(), day, { pageSize: 1, pagesMax: 3 });
    } finally {
      open();
    }
    const first = await a;

    for (const sellerId of sellers) expect(await payoutsOf(sellerId)).toEqual([{ idempotency_key: scheduledIdempotencyKey(sellerId, 'USD', day), amount_minor: 1_100n }]);
    await expectCursorNeverBack(day, sellers);
    expect(b).toMatchObject({ claimedElsewhere: true, requested: 0, replayed: 0, skipped: 0, failed: 0, complete: false });
    expect(first).toMatchObject({ complete: true, requested: sellers.length, replayed: 0 });
  });

  it('a run whose claim ran out while it stalled is taken over; the stalled run then writes nothing and stops', async () => {
    await payEveryone('2031-05-09');
    const day = '2031-05-10';
    const sellers = orderedSellers('lease', 5);
    for (const sellerId of sellers) await h.wallet.credit(sellerId, 'USD', 1_300n);
    const LEASE: ScheduledRunLimits = { pageSize: 1, pagesMax: 10, leaseMs: 300 };

    const { gate, open } = opener();
    const a = runScheduledPayoutsOfDay(gatedListing(secondInstance(), 2, gate), day, LEASE);
    let b: ScheduledRunSummary;
    try {
      await waitFor(async () => (await runRow(day))?.resume_after ?? null, 10_000, 'instance A to store its first cursor');
      // A stalls past its claim: B takes the day over and goes three pages further.
      await new Promise((resolve) => setTimeout(resolve, 600));
      b = await runScheduledPayoutsOfDay(secondInstance(), day, { ...LEASE, pagesMax: 3 });
    } finally {
      open();
    }
    const stalled = await a;

    expect(b).toMatchObject({ claimedElsewhere: false, complete: false, requested: 3 });
    // Its second page came back after B had paid it: the stalled run paid only its first page's
    // seller, and no one of the second page, and wrote no cursor after B's.
    expect(stalled).toMatchObject({ claimedElsewhere: true, complete: false, requested: 1, replayed: 0, skipped: 0, failed: 0 });
    await expectCursorNeverBack(day, sellers);
    // The next tick finishes the day from B's cursor.
    expect(await runScheduledPayoutsOfDay(h.service.deps, day, LEASE)).toMatchObject({ complete: true, requested: 1 });
    await expectCursorNeverBack(day, sellers);
    for (const sellerId of sellers) expect(await payoutsOf(sellerId)).toEqual([{ idempotency_key: scheduledIdempotencyKey(sellerId, 'USD', day), amount_minor: 1_300n }]);
  });

  it('two schedulers ticking at once: the day completes once, each seller paid once, the cursor never back', async () => {
    await payEveryone('2031-06-09');
    const now = new Date('2031-06-10T03:00:00Z');
    const sellers = orderedSellers('twin', 6);
    for (const sellerId of sellers) await h.wallet.credit(sellerId, 'USD', 900n);
    const instances = [h.service.deps, secondInstance()];
    const runs: ScheduledRunSummary[] = [];
    const jobs = instances.map((deps) =>
      startDailySchedule(async (_now, dueDay) => {
        const summary = await runDueScheduledPayouts(deps, now, dueDay === null ? null : '2031-06-10', { pageSize: 1, pagesMax: 2 });
        if (summary) runs.push(summary);
        return summary;
      }, 50),
    );
    try {
      await waitFor(async () => runs.some((run) => run.complete), 30_000, 'the day to complete');
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      await Promise.all(jobs.map((job) => job.stop()));
    }
    const day = runs[0]?.day ?? '';
    expect(runs.filter((run) => run.complete && !run.alreadyComplete)).toHaveLength(1);
    expect(day).toBe('2031-06-10');
    await expectCursorNeverBack(day, sellers);
    for (const sellerId of sellers) expect(await payoutsOf(sellerId)).toEqual([{ idempotency_key: scheduledIdempotencyKey(sellerId, 'USD', day), amount_minor: 900n }]);
  });
});
