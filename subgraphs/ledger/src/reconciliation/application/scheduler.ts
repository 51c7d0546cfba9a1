// The nightly reconciliation: once a day, at RECONCILIATION_UTC_TIME or later, reconcile the
// previous UTC day. Checked every checkIntervalMs; one run at a time; a day whose run from this
// source already COMPLETED is not run again (restarts after the run time are harmless). A run
// that fails is logged and tried again at the next check, at most attemptsMax times a day.
// Another attempt at the same day (another instance's, or the on-demand mutation's) is expected
// concurrency, logged at warn: this attempt found it running, or was taken over by it.
import type { Logger, SqlClient, Stoppable } from '@clearhouse/shared';
import { previousUtcDay } from '../domain/day.js';
import type { PspSource, UtcDay } from '../domain/types.js';
import { RunInProgressError, RunSupersededError } from '../persistence/reconciliation-store.js';

export interface DailyTime {
  readonly hours: number;
  readonly minutes: number;
}

export function parseUtcTime(text: string): DailyTime {
  const match = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(text);
  if (!match?.[1] || !match[2]) throw new Error(`invalid UTC time ${JSON.stringify(text)}: expected HH:MM`);
  return { hours: Number(match[1]), minutes: Number(match[2]) };
}

/** The day to reconcile at `now` (yesterday), or null before today's run time. */
export function dueReconciliationDay(now: Date, time: DailyTime): UtcDay | null {
  const minutesNow = now.getUTCHours() * 60 + now.getUTCMinutes();
  return minutesNow >= time.hours * 60 + time.minutes ? previousUtcDay(now) : null;
}

export interface SchedulerOptions {
  readonly db: SqlClient;
  readonly logger: Logger;
  readonly source: PspSource;
  readonly time: DailyTime;
  readonly checkIntervalMs: number;
  readonly attemptsMax: number;
  readonly run: (day: UtcDay) => Promise<unknown>;
  readonly now?: () => Date;
}

async function completed(db: SqlClient, day: UtcDay, source: PspSource): Promise<boolean> {
  const rows = await db.$queryRawUnsafe<{ status: string }[]>(`SELECT status FROM reconciliation_runs WHERE date = $1 AND source = $2`, day, source);
  return rows[0]?.status === 'COMPLETED';
}

function logOutcome(logger: Logger, day: UtcDay, error: unknown): void {
  if (error instanceof RunSupersededError) {
    logger.warn({ err: error, day }, 'nightly reconciliation attempt superseded by a newer attempt; its result was not recorded');
  } else if (error instanceof RunInProgressError) {
    logger.warn({ err: error, day }, 'nightly reconciliation skipped: another attempt is running the day');
  } else {
    logger.error({ err: error, day }, 'nightly reconciliation failed');
  }
}

export function startReconciliationScheduler(options: SchedulerOptions): Stoppable {
  const now = options.now ?? (() => new Date());
  let running: Promise<void> | undefined;
  let stopped = false;
  const attemptsByDay = new Map<UtcDay, number>();

  const tick = (): void => {
    if (stopped || running) return;
    const day = dueReconciliationDay(now(), options.time);
    if (day === null) return;
    const attempts = attemptsByDay.get(day) ?? 0;
    if (attempts >= options.attemptsMax) return;
    running = (async () => {
      if (await completed(options.db, day, options.source)) {
        attemptsByDay.set(day, options.attemptsMax);
        return;
      }
      attemptsByDay.clear();
      attemptsByDay.set(day, attempts + 1);
      options.logger.info({ day, source: options.source, attempt: attempts + 1 }, 'nightly reconciliation');
      await options.run(day);
    })()
      .catch((error: unknown) => logOutcome(options.logger, day, error))
      .finally(() => {
        running = undefined;
      });
  };
  const timer = setInterval(tick, options.checkIntervalMs);
  timer.unref();
  tick();
  return {
    name: 'reconciliation-scheduler',
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
  };
}
