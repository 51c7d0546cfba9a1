// The one way the payments subgraph calls its PSP: the shared executor (timeout backstop, bounded
// attempts with backoff, a log line per failed attempt) with the payments' own PSP error type.
import { executePspCall, type Logger, type PspCallPolicy } from '@clearhouse/shared';
import { PspError } from './port.js';
import { pspErrorFromStripe } from './transformers.js';

export type { PspCallPolicy };

export interface PspCallOptions {
  operation: string;
  policy: PspCallPolicy;
  logger: Logger;
  /** Told about each failed attempt (e.g. to record it on the timeline, or to change the key). */
  onAttemptFailed?: (error: PspError, attempt: number) => Promise<void>;
}

/** Runs `call(attempt)` until it succeeds, fails for good, or the attempts run out; throws the last PspError. */
export function callPsp<T>(options: PspCallOptions, call: (attempt: number) => Promise<T>): Promise<T> {
  return executePspCall(
    {
      ...options,
      toError: pspErrorFromStripe,
      timeoutError: (message) => new PspError('timeout', message, null, null),
    },
    call,
  );
}
