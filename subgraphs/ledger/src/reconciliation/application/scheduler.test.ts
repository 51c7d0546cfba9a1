// The nightly scheduler's log: an attempt that another attempt took over (it was slow, not dead),
// or that found the day already being run, is expected concurrency (warn); a run that fails is an
// error. The scheduler drives real runs against a fresh ledger database; its log is read back.
import { Writable } from 'node:stream';
import { createLogger, type Logger } from '@clearhouse/shared';
import { claimRun } from '../persistence/reconciliation-store.js';
import { runReconciliation } from './run-reconciliation.js';
import { startReconciliationScheduler } from './scheduler.js';
import { ageRunPastStale, heldUntilReleased, settlementFile, startReconciliationWorld, type ReconciliationWorld } from './world.test-support.js';

jest.setTimeout(120_000);

let world: ReconciliationWorld;

beforeAll(async () => {
  world = await startReconciliationWorld();
});

afterAll(async () => {
  await world?.stop();
});

interface LogLine {
  level: string;
  msg: string;
  day?: string;
  err?: { type?: string; message?: string };
}

function capturedLogger(): { logger: Logger; lines: () => LogLine[] } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const logger = createLogger({ service: 'ledger-scheduler-test', level: 'info', destination: stream });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as LogLine);
  return { logger, lines };
}

/** One tick of the nightly job at 04:00 UTC the day after `day` (the check interval never fires again). */
function schedule(logger: Logger, day: string, run: (day: string) => Promise<unknown>) {
  const nextDay = new Date(Date.parse(`${day}T04:00:00Z`) + 24 * 3_600_000);
  return startReconciliationScheduler({
    db: world.db,
    logger,
    source: 'csv',
    time: { hours: 3, minutes: 0 },
    checkIntervalMs: 3_600_000,
    attemptsMax: 3,
    run,
    now: () => nextDay,
  });
}

const adjustment = (id: string) => ({ id, category: 'other_adjustment', grossMinor: -100n, description: 'mystery' });

describe('the nightly scheduler', () => {
  it('logs an attempt superseded by a newer one at warn, not as a failure', async () => {
    const day = '2020-03-01';
    const { logger, lines } = capturedLogger();
    const slow = heldUntilReleased(await settlementFile(day, [adjustment('txn_sched_1')]));
    const scheduler = schedule(logger, day, (due) => runReconciliation({ ...world.deps, logger }, due, slow.loader));
    await slow.started;
    const running = (await world.prisma.reconciliationRun.findMany({ where: { date: day } }))[0]!;
    expect(running).toMatchObject({ status: 'RUNNING', attempts: 1 });
    await ageRunPastStale(world, running.id);
    const newer = await runReconciliation(world.deps, day, await settlementFile(day, [adjustment('txn_sched_1'), adjustment('txn_sched_2')]));
    expect(newer.run).toMatchObject({ status: 'COMPLETED', attempts: 2 });

    slow.release('load');
    await scheduler.stop();
    const logged = lines();
    expect(logged.filter((line) => line.level === 'error')).toEqual([]);
    expect(logged).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        day,
        msg: 'nightly reconciliation attempt superseded by a newer attempt; its result was not recorded',
        err: expect.objectContaining({ type: 'RunSupersededError', message: expect.stringMatching(/attempt 1 was superseded by attempt 2/) }),
      }),
    );
    expect(await world.prisma.reconciliationRun.findUnique({ where: { id: running.id } })).toMatchObject({ status: 'COMPLETED', attempts: 2, lineCount: 2 });
  });

  it('logs a day another attempt is running at warn', async () => {
    const day = '2020-03-02';
    const { logger, lines } = capturedLogger();
    const other = await claimRun(world.db, day, 'csv', world.deps.runStaleAfterMs);
    let ran = false;
    const scheduler = schedule(logger, day, async (due) => {
      ran = true;
      return runReconciliation({ ...world.deps, logger }, due, await settlementFile(due, [adjustment('txn_sched_3')]));
    });
    await scheduler.stop();
    expect(ran).toBe(true);
    const logged = lines();
    expect(logged.filter((line) => line.level === 'error')).toEqual([]);
    expect(logged).toContainEqual(
      expect.objectContaining({ level: 'warn', day, msg: 'nightly reconciliation skipped: another attempt is running the day', err: expect.objectContaining({ type: 'RunInProgressError' }) }),
    );
    expect(await world.prisma.reconciliationRun.findUnique({ where: { id: other.id } })).toMatchObject({ status: 'RUNNING', attempts: 1 });
  });

  it('logs a run that fails at error', async () => {
    const day = '2020-03-03';
    const { logger, lines } = capturedLogger();
    const scheduler = schedule(logger, day, async (due) => {
      const slow = heldUntilReleased(await settlementFile(due, [adjustment('txn_sched_4')]));
      slow.release('fail');
      return runReconciliation({ ...world.deps, logger }, due, slow.loader);
    });
    await scheduler.stop();
    const logged = lines();
    expect(logged).toContainEqual(
      expect.objectContaining({ level: 'error', day, msg: 'nightly reconciliation failed', err: expect.objectContaining({ type: 'IngestionError', message: expect.stringMatching(/stopped answering/) }) }),
    );
    expect(logged.filter((line) => line.level === 'warn')).toEqual([]);
    expect(await world.prisma.reconciliationRun.findMany({ where: { date: day } })).toEqual([expect.objectContaining({ status: 'FAILED', attempts: 1 })]);
  });
});
