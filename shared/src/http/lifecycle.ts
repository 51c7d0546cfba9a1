// Ordered start-up and shutdown for a process: SIGINT/SIGTERM stop the parts in reverse order,
// each bounded by a timeout, so in-flight work finishes or is returned to the broker.
import type { Logger } from '../logging/index.js';

export interface Stoppable {
  readonly name: string;
  stop(): Promise<void>;
}

const SHUTDOWN_STEP_TIMEOUT_MS = 10_000;

export async function stopInReverse(parts: readonly Stoppable[], logger: Logger, stepTimeoutMs = SHUTDOWN_STEP_TIMEOUT_MS): Promise<void> {
  for (const part of [...parts].reverse()) {
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        part.stop(),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error(`timed out after ${stepTimeoutMs} ms`)), stepTimeoutMs);
        }),
      ]);
      logger.info({ part: part.name }, 'stopped');
    } catch (error) {
      logger.error({ err: error, part: part.name }, 'failed to stop cleanly');
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Runs `start`, then waits for SIGINT/SIGTERM and stops what it returned. */
export function runUntilSignal(service: string, logger: Logger, start: () => Promise<readonly Stoppable[]>): void {
  let parts: readonly Stoppable[] = [];
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, `${service} shutting down`);
    void stopInReverse(parts, logger).then(() => {
      logger.info(`${service} stopped`);
      process.exit(0);
    });
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  start()
    .then((started) => {
      parts = started;
      logger.info(`${service} started`);
      if (stopping) void stopInReverse(parts, logger).then(() => process.exit(0));
    })
    .catch((error: unknown) => {
      logger.fatal({ err: error }, `${service} failed to start`);
      process.exit(1);
    });
}
