// The correlation id follows one request or message through every await in this process, so a
// log search for it shows the whole story without passing it through every function signature.
import { AsyncLocalStorage } from 'node:async_hooks';
import { invariant } from '../invariant.js';

interface CorrelationContext {
  readonly correlationId: string;
}

const storage = new AsyncLocalStorage<CorrelationContext>();

// Ids come from headers and messages; a bound keeps a hostile header from bloating every line.
export const CORRELATION_ID_LENGTH_MAX = 200;

export function withCorrelationId<T>(correlationId: string, fn: () => T): T {
  invariant(
    typeof correlationId === 'string' && correlationId.length > 0 && correlationId.length <= CORRELATION_ID_LENGTH_MAX,
    `withCorrelationId: correlation id must be 1..${CORRELATION_ID_LENGTH_MAX} characters`,
  );
  return storage.run({ correlationId }, fn);
}

export function currentCorrelationId(): string | undefined {
  return storage.getStore()?.correlationId;
}
