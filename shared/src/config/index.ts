// Configuration: zod-parsed environment, all problems reported at once.
export { EnvError, loadEnv, parseEnv, requireInProduction } from './env.js';
export type { EnvSource } from './env.js';
export { envBigInt, envBoolean, envDurationMs, envEnum, envInt, envPort, envString, envUrl } from './fields.js';
export {
  BROKER_PREFIX_PATTERN,
  DATABASE_PREFIX_PATTERN,
  DEVELOPMENT_INTERNAL_SIGNING_SECRET,
  LOG_LEVELS,
  NODE_ENVS,
  commonEnvShape,
  messagingRetentionEnvShape,
  idempotencyRetentionEnvShape,
  databaseName,
  databaseUrl,
  eventsExchangeName,
} from './common.js';
export type { CommonEnv, LogLevel, NodeEnv } from './common.js';
