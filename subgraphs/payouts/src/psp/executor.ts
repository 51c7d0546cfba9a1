// The one way the payouts subgraph calls its PSP: the shared executor (timeout backstop, bounded
// attempts with backoff, a log line per failed attempt) with the payouts' own PSP error type. The
// same idempotency key travels with every attempt, so retries never pay twice.
import { executePspCall, type MessagingLogger, type PspCallPolicy } from '@clearhouse/shared';
import { PspError } from './port.js';
import { pspErrorFromStripe } from './transformers.js';

export type { PspCallPolicy };

/**
 * Runs `call` until it succeeds, fails for good, or the attempts run out; throws the last
 * PspError. `retryable` narrows which failures are retried with the same key (by default every
 * one the PspError calls retryable).
 */
export function callPsp<T>(
  operation: string,
  policy: PspCallPolicy,
  logger: MessagingLogger,
  call: () => Promise<T>,
  retryable: (error: PspError) => boolean = (error) => error.retryable,
): Promise<T> {
  return executePspCall(
    {
      operation,
      policy,
      logger,
      retryable,
      toError: pspErrorFromStripe,
      timeoutError: (message) => new PspError('timeout', message, null, null),
    },
    () => call(),
  );
}
