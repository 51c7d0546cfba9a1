import { setImmediate as yieldToEventLoop } from 'node:timers/promises';

export { yieldToEventLoop };

/** Rejects with a TimeoutError (classified retryable) when `promise` takes longer than `timeoutMs`. */
export async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const err = new Error(`${what} timed out after ${timeoutMs} ms`);
      err.name = 'TimeoutError';
      reject(err);
    }, timeoutMs);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** A sleep that `wake()` or `stop` can cut short; one sleeper per loop. */
export class Sleeper {
  private wakeSleeper: (() => void) | undefined;
  private woken = false;

  /** Resolves true when `wake()` cut the sleep short (or came before it), false after `durationMs`. */
  sleep(durationMs: number): Promise<boolean> {
    if (this.woken) {
      this.woken = false;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const done = (woken: boolean) => {
        clearTimeout(timer);
        this.wakeSleeper = undefined;
        resolve(woken);
      };
      const timer = setTimeout(() => done(false), durationMs);
      this.wakeSleeper = () => done(true);
    });
  }

  wake(): void {
    if (this.wakeSleeper) this.wakeSleeper();
    else this.woken = true;
  }
}

export function exponentialBackoffMs(baseMs: number, attempt: number, capMs: number): number {
  const exponent = Math.min(Math.max(attempt - 1, 0), 30);
  return Math.min(capMs, baseMs * 2 ** exponent);
}
