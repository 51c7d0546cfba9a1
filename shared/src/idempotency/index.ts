// Idempotency of state-changing mutations: (caller, key) + a hash of the input, stored once.
export {
  IDEMPOTENCY_CLEANUP_BATCH_MAX,
  IDEMPOTENCY_KEY_LENGTH_MAX,
  IDEMPOTENCY_KEY_RETENTION_MS_MIN,
  assertIdempotencyKey,
  cleanupExpiredIdempotencyKeys,
  deleteExpiredIdempotencyKeys,
  hashRequest,
  runIdempotent,
} from './idempotency.js';
export type { IdempotencyStatus, IdempotentExecutionContext, IdempotentResult, JsonValue, RunIdempotentOptions } from './idempotency.js';
