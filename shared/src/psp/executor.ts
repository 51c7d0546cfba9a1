// The one generic way a service calls its PSP: a hard timeout per attempt (a backstop behind the
// SDK's own timeout), bounded attempts with exponential backoff for retryable failures, and a log
// line per failed attempt. Each service maps raw SDK errors onto its own typed PSP error.
import type { MessagingLogger } from '../messaging/logger.js';

export interface PspCallPolicy {
  attemptsMax: number;
  /** Per attempt; the SDK has its own timeout, this is the backstop. */
  timeoutMs: number;
  backoffMsBase: number;
  backoffMsMax: number;
}

/** What the executor needs to know of a service's PSP error type. */
export interface PspFailure {
  readonly retryable: boolean;
  readonly kind: string;
  readonly message: string;
  readonly statusCode: number | null;
  readonly code: string | null;
  readonly replayed?: boolean;
}

export interface PspExecution<E extends PspFailure> {
  readonly operation: string;
  readonly policy: PspCallPolicy;
  readonly logger: MessagingLogger;
  /** Maps anything an attempt threw onto the service's PSP error. */
  readonly toError: (raw: unknown) => E;
  /** The error for an attempt the backstop timed out. */
  readonly timeoutError: (message: string) => E;
  /** Narrows which failures are retried (default: every retryable one). */
  readonly retryable?: (error: E) => boolean;
  /** Told about each failed attempt (e.g. to record it, or to change the idempotency key). */
  readonly onAttemptFailed?: (error: E, attempt: number) => Promise<void>;
}

export const PSP_ATTEMPTS_MAX_LIMIT = 10;
const BACKSTOP_EXTRA_MS = 1_000;

function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}

async function withBackstop<T>(promise: Promise<T>, timeoutMs: number, onTimeout: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(onTimeout()), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs `call(attempt)` until it succeeds, fails for good, or the attempts run out; throws the last error. */
export async function executePspCall<T, E extends PspFailure>(options: PspExecution<E>, call: (attempt: number) => Promise<T>): Promise<T> {
  const { policy, operation, logger } = options;
  if (!Number.isInteger(policy.attemptsMax) || policy.attemptsMax < 1 || policy.attemptsMax > PSP_ATTEMPTS_MAX_LIMIT) {
    throw new Error(`executePspCall: attemptsMax must be 1..${PSP_ATTEMPTS_MAX_LIMIT}`);
  }
  const retryable = options.retryable ?? ((error: E) => error.retryable);
  let lastError: E | undefined;
  for (let attempt = 1; attempt <= policy.attemptsMax; attempt++) {
    const startedMs = Date.now();
    try {
      // The backstop fires a little after the SDK's own timeout, so the SDK's error wins normally.
      const timeoutMs = policy.timeoutMs + BACKSTOP_EXTRA_MS;
      return await withBackstop(call(attempt), timeoutMs, () => options.timeoutError(`${operation}: no answer within ${timeoutMs} ms`) as unknown as Error);
    } catch (raw) {
      const error = options.toError(raw);
      lastError = error;
      logger.warn(
        { operation, attempt, kind: error.kind, replayed: error.replayed, statusCode: error.statusCode, code: error.code, durationMs: Date.now() - startedMs, err: error.message },
        'psp call failed',
      );
      await options.onAttemptFailed?.(error, attempt);
      if (!retryable(error) || attempt === policy.attemptsMax) break;
      await sleep(Math.min(policy.backoffMsBase * 2 ** (attempt - 1), policy.backoffMsMax));
    }
  }
  throw lastError ?? options.toError(new Error(`${operation}: no attempt made`));
}
