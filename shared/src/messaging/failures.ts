import { ZodError } from 'zod';
import { isDomainError } from '../errors/index.js';
import { PoisonMessageError } from './envelope.js';

/** Throw from a handler when a later attempt may succeed (a dependency is briefly down). */
export class RetryableError extends Error {
  override readonly name = 'RetryableError';
}

/** Throw from a handler when no later attempt can succeed (the message itself is wrong). */
export class NonRetryableError extends Error {
  override readonly name = 'NonRetryableError';
}

export type FailureClass = 'retryable' | 'non-retryable';

const RETRYABLE_NODE_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENETUNREACH',
  'ENETDOWN', 'EAI_AGAIN', 'ENOTFOUND', 'ESOCKETTIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_SOCKET',
]);

// PostgreSQL SQLSTATEs worth another attempt: serialization failure, deadlock, and the
// connection/operator classes (the server went away or is shutting down).
const RETRYABLE_PG_CODES = new Set(['40001', '40P01', '55P03', '57P01', '57P02', '57P03', '53300']);
const RETRYABLE_PG_CLASSES = ['08'];

// Prisma: P1001 unreachable, P1002/P1008 timeouts, P1017 server closed the connection,
// P2024 pool timeout, P2028 transaction API error (e.g. the transaction timed out),
// P2034 write conflict or deadlock.
const RETRYABLE_PRISMA_CODES = new Set(['P1001', 'P1002', 'P1008', 'P1017', 'P2024', 'P2028', 'P2034']);

// Driver-adapter error kinds (Prisma 7 adapters) that describe a transient condition.
const RETRYABLE_ADAPTER_KINDS = new Set([
  'TransactionWriteConflict', 'DatabaseNotReachable', 'ConnectionClosed', 'SocketTimeout',
  'TooManyConnections', 'TransactionAlreadyClosed',
]);

/** How deep to follow `.cause` chains: a bound, and cycles cannot hang us. */
const CAUSE_DEPTH_MAX = 5;

type Verdict = FailureClass | undefined;

function record(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : undefined;
}

function classifyPgCode(code: unknown): Verdict {
  if (typeof code !== 'string' || code.length !== 5) return undefined;
  if (RETRYABLE_PG_CODES.has(code) || RETRYABLE_PG_CLASSES.some((c) => code.startsWith(c))) return 'retryable';
  return undefined;
}

function classifyOne(err: unknown): Verdict {
  if (err instanceof RetryableError) return 'retryable';
  if (err instanceof NonRetryableError || err instanceof PoisonMessageError) return 'non-retryable';
  if (err instanceof ZodError || err instanceof SyntaxError) return 'non-retryable';
  if (isDomainError(err)) return err.retryable ? 'retryable' : 'non-retryable';
  const e = record(err);
  if (!e) return undefined;
  if (e.name === 'ZodError' || e.name === 'ValidationError') return 'non-retryable';
  if (e.name === 'TimeoutError' || e.name === 'AbortError') return 'retryable';

  const code = e.code;
  if (typeof code === 'string') {
    if (RETRYABLE_NODE_CODES.has(code) || RETRYABLE_PRISMA_CODES.has(code)) return 'retryable';
    const pg = classifyPgCode(code);
    if (pg) return pg;
  }
  const status = typeof e.statusCode === 'number' ? e.statusCode : e.status;
  if (typeof status === 'number') {
    // 5xx, 408 Request Timeout and 429 Too Many Requests heal with time; any other 4xx means
    // the request itself is wrong and will be rejected again.
    if ((status >= 500 && status <= 599) || status === 408 || status === 429) return 'retryable';
    if (status >= 400 && status <= 499) return 'non-retryable';
  }

  // Prisma 7 with a driver adapter: meta.driverAdapterError.cause = { kind, originalCode }.
  const adapterCause = record(record(record(e.meta)?.driverAdapterError)?.cause) ?? (e.name === 'DriverAdapterError' ? record(e.cause) : undefined);
  if (adapterCause) {
    if (typeof adapterCause.kind === 'string' && RETRYABLE_ADAPTER_KINDS.has(adapterCause.kind)) return 'retryable';
    const pg = classifyPgCode(adapterCause.originalCode);
    if (pg) return pg;
  }
  return undefined;
}

/**
 * Sorts a handler failure into retryable (a later attempt may succeed) or non-retryable (park
 * it now). Unknown errors count as retryable: a bug that a retry cannot fix costs only the few
 * bounded delay tiers before it is parked anyway, whereas parking a transient failure at once
 * would need an operator for something that would have healed itself.
 */
export function classifyError(err: unknown): FailureClass {
  let current: unknown = err;
  for (let depth = 0; depth < CAUSE_DEPTH_MAX && current !== undefined && current !== null; depth++) {
    const verdict = classifyOne(current);
    if (verdict) return verdict;
    current = record(current)?.cause;
  }
  return 'retryable';
}

/** A short, single-line description of an error for headers and logs. */
export function describeError(err: unknown, lengthMax = 500): string {
  const e = record(err);
  const text = err instanceof Error ? `${err.name}: ${err.message}` : e ? JSON.stringify(e) : String(err);
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > lengthMax ? `${oneLine.slice(0, lengthMax - 1)}…` : oneLine;
}
