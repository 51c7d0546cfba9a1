// The one way the payments subgraph calls its PSP: a hard timeout per attempt, bounded
// attempts with exponential backoff for retryable failures, a log line per failed attempt.
import type { Logger } from '@clearhouse/shared';
import { PspError } from './port.js';
import { pspErrorFromStripe } from './transformers.js';

export interface PspCallPolicy {
  attemptsMax: number;
  /** Per attempt; the SDK has its own timeout, this is the backstop. */
  timeoutMs: number;
  backoffMsBase: number;
  backoffMsMax: number;
}

export interface PspCallOptions {
  operation: string;
  policy: PspCallPolicy;
  logger: Logger;
  /** Told about each failed attempt (e.g. to record it on the timeline, or to change the key). */
  onAttemptFailed?: (error: PspError, attempt: number) => Promise<void>;
}

const ATTEMPTS_MAX_LIMIT = 10;

function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number, operation: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new PspError('timeout', `${operation}: no answer within ${timeoutMs} ms`, null, null)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `call(attempt)` until it succeeds, fails for good, or the attempts run out; throws the last PspError. */
export async function callPsp<T>(options: PspCallOptions, call: (attempt: number) => Promise<T>): Promise<T> {
  const { policy, operation, logger } = options;
  if (!Number.isInteger(policy.attemptsMax) || policy.attemptsMax < 1 || policy.attemptsMax > ATTEMPTS_MAX_LIMIT) {
    throw new Error(`callPsp: attemptsMax must be 1..${ATTEMPTS_MAX_LIMIT}`);
  }
  let lastError: PspError | undefined;
  for (let attempt = 1; attempt <= policy.attemptsMax; attempt++) {
    const startedMs = Date.now();
    try {
      // The backstop fires a little after the SDK's own timeout, so the SDK's error wins normally.
      return await withTimeout(call(attempt), policy.timeoutMs + 1_000, operation);
    } catch (raw) {
      const error = pspErrorFromStripe(raw);
      lastError = error;
      logger.warn({ operation, attempt, kind: error.kind, statusCode: error.statusCode, code: error.code, durationMs: Date.now() - startedMs, err: error.message }, 'psp call failed');
      await options.onAttemptFailed?.(error, attempt);
      if (!error.retryable || attempt === policy.attemptsMax) break;
      await sleep(Math.min(policy.backoffMsBase * 2 ** (attempt - 1), policy.backoffMsMax));
    }
  }
  throw lastError ?? new PspError('connection', `${operation}: no attempt made`, null, null);
}
