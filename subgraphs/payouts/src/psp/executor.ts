// The one way the payouts subgraph calls its PSP: a hard timeout per attempt, bounded attempts
// with exponential backoff for retryable failures, a log line per failed attempt. The same
// idempotency key travels with every attempt, so retries never pay twice.
import type { MessagingLogger } from '@clearhouse/shared';
import { PspError } from './port.js';
import { pspErrorFromStripe } from './transformers.js';

export interface PspCallPolicy {
  attemptsMax: number;
  /** Per attempt; the SDK has its own timeout, this is the backstop. */
  timeoutMs: number;
  backoffMsBase: number;
  backoffMsMax: number;
}

const ATTEMPTS_MAX_LIMIT = 10;
const BACKSTOP_EXTRA_MS = 1_000;

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

/** Runs `call` until it succeeds, fails for good, or the attempts run out; throws the last PspError. */
/**
 * `retryable` narrows which failures are retried with the same key (by default every one the
 * PspError calls retryable).
 */
export async function callPsp<T>(
  operation: string,
  policy: PspCallPolicy,
  logger: MessagingLogger,
  call: () => Promise<T>,
  retryable: (error: PspError) => boolean = (error) => error.retryable,
): Promise<T> {
  if (!Number.isInteger(policy.attemptsMax) || policy.attemptsMax < 1 || policy.attemptsMax > ATTEMPTS_MAX_LIMIT) {
    throw new Error(`callPsp: attemptsMax must be 1..${ATTEMPTS_MAX_LIMIT}`);
  }
  let lastError: PspError | undefined;
  for (let attempt = 1; attempt <= policy.attemptsMax; attempt++) {
    const startedMs = Date.now();
    try {
      return await withTimeout(call(), policy.timeoutMs + BACKSTOP_EXTRA_MS, operation);
    } catch (raw) {
      const error = pspErrorFromStripe(raw);
      lastError = error;
      logger.warn({ operation, attempt, kind: error.kind, replayed: error.replayed, statusCode: error.statusCode, code: error.code, durationMs: Date.now() - startedMs, err: error.message }, 'psp call failed');
      if (!retryable(error) || attempt === policy.attemptsMax) break;
      await sleep(Math.min(policy.backoffMsBase * 2 ** (attempt - 1), policy.backoffMsMax));
    }
  }
  throw lastError ?? new PspError('connection', `${operation}: no attempt made`, null, null);
}
