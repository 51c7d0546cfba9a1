// Timers of the payouts service: the PSP re-check every PAYOUT_RECHECK_INTERVAL_MS, and the daily
// payout run at PAYOUT_SCHEDULE_UTC_TIME (when enabled). One run of each at a time; a run that
// throws is logged and the next tick tries again. Which day a tick runs, and whether there is
// anything left to run, is the run's decision (application/scheduled-payouts.ts,
// runDueScheduledPayouts: the day's progress is in the database, so a run stopped at its page cap
// or with failed payouts left to retry goes on at the next tick, also after a restart or past
// midnight, and a completed day is not run again; a day another replica's run holds is skipped
// until that run ends). The scheduler only stops asking once a tick found nothing to do for the
// day it is in.
import type { MessagingLogger } from '@clearhouse/shared';

export interface DailyTime {
  hours: number;
  minutes: number;
}

export function parseUtcTime(text: string): DailyTime {
  const match = /^([01][0-9]|2[0-3]):([0-5][0-9])$/.exec(text);
  if (!match?.[1] || !match[2]) throw new Error(`invalid UTC time ${JSON.stringify(text)}: expected HH:MM`);
  return { hours: Number(match[1]), minutes: Number(match[2]) };
}

/** The UTC day (YYYY-MM-DD) whose run is due at `now`, or null before today's run time. */
export function dueDay(now: Date, time: DailyTime): string | null {
  const minutesNow = now.getUTCHours() * 60 + now.getUTCMinutes();
  return minutesNow >= time.hours * 60 + time.minutes ? now.toISOString().slice(0, 10) : null;
}

export interface PayoutJobsOptions {
  logger: MessagingLogger;
  recheckIntervalMs: number;
  recheck: () => Promise<unknown>;
  schedule: {
    enabled: boolean;
    time: DailyTime;
    checkIntervalMs: number;
    /**
     * One tick's run: `dueDay` is today once the run time has passed, else null. Answers the day
     * it ran and whether that day completed, or null when there was nothing to do.
     */
    run: (now: Date, dueDay: string | null) => Promise<ScheduledTickResult | null>;
  };
}

export interface ScheduledTickResult {
  day: string;
  complete: boolean;
}

export interface RunningJobs {
  stop(): Promise<void>;
}

export function startPayoutJobs(options: PayoutJobsOptions): RunningJobs {
  const inFlight = new Set<Promise<unknown>>();
  let recheckRunning = false;
  let scheduleRunning = false;
  // The due day (null: before the run time) for which there is nothing left to run; undefined
  // until a tick found that (on start, the database is asked).
  let settledDueDay: string | null | undefined;
  let stopped = false;

  function track(promise: Promise<unknown>): void {
    inFlight.add(promise);
    void promise.finally(() => inFlight.delete(promise));
  }

  const recheckTimer = setInterval(() => {
    if (recheckRunning || stopped) return;
    recheckRunning = true;
    track(options.recheck().catch((error: unknown) => options.logger.error({ err: error }, 'payout re-check failed')).finally(() => { recheckRunning = false; }));
  }, options.recheckIntervalMs);

  function scheduleTick(): void {
    if (!options.schedule.enabled || scheduleRunning || stopped) return;
    const now = new Date();
    const day = dueDay(now, options.schedule.time);
    if (settledDueDay !== undefined && day === settledDueDay) return;
    scheduleRunning = true;
    track(
      options.schedule
        .run(now, day)
        .then((result) => {
          const settled = result === null || (result.day === day && result.complete);
          settledDueDay = settled ? day : undefined;
        })
        .catch((error: unknown) => options.logger.error({ err: error, day }, 'scheduled payout run failed'))
        .finally(() => { scheduleRunning = false; }),
    );
  }
  const scheduleTimer = setInterval(scheduleTick, options.schedule.checkIntervalMs);
  scheduleTick();

  return {
    async stop() {
      stopped = true;
      clearInterval(recheckTimer);
      clearInterval(scheduleTimer);
      await Promise.allSettled([...inFlight]);
    },
  };
}
