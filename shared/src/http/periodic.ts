// A job run every intervalMs, never twice at once; stop() waits for the run in flight.
import type { Logger } from '../logging/index.js';
import type { Stoppable } from './lifecycle.js';

export function startPeriodicJob(options: { name: string; intervalMs: number; logger: Logger; run: () => Promise<unknown> }): Stoppable {
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const tick = () => {
    running = options
      .run()
      .then(
        () => undefined,
        (error: unknown) => options.logger.error({ err: error, job: options.name }, 'periodic job failed'),
      )
      .finally(() => {
        running = undefined;
        if (!stopped) timer = setTimeout(tick, options.intervalMs);
      });
  };
  timer = setTimeout(tick, options.intervalMs);
  return {
    name: options.name,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
