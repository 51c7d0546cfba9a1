// The variables every Clearhouse service reads. A service spreads this shape into its own:
//   const env = loadEnv({ ...commonEnvShape, PORT: envPort(4001) });
import { z } from 'zod';
import { invariant } from '../invariant.js';
import { requireInProduction } from './env.js';
import { INBOX_RETENTION_MS_DEFAULT, INBOX_RETENTION_MS_MIN, OUTBOX_RETENTION_MS_DEFAULT, OUTBOX_RETENTION_MS_MIN } from '../messaging/retention.js';
import { envDurationMs, envEnum, envUrl } from './fields.js';
import { IDEMPOTENCY_KEY_RETENTION_MS_MIN } from '../idempotency/idempotency.js';

export const NODE_ENVS = ['development', 'test', 'production'] as const;
export type NodeEnv = (typeof NODE_ENVS)[number];
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DATABASE_PREFIX_PATTERN = /^[a-z][a-z0-9_]{0,40}$/;
export const BROKER_PREFIX_PATTERN = /^[a-z][a-z0-9_.-]{0,40}$/;
const SUBGRAPH_NAME_PATTERN = /^[a-z][a-z0-9_]{0,40}$/;

export const DEVELOPMENT_INTERNAL_SIGNING_SECRET = 'dev-internal-signing-secret-change-me';

// Each service owns `${prefix}_${subgraph}` on this server, so the URL must not name a database.
const postgresServerUrl = envUrl('postgresql://postgres@127.0.0.1:5432', {
  protocols: ['postgres:', 'postgresql:'],
}).refine(
  (text) => {
    // URL.canParse: zod runs this check even when the URL check above already failed.
    if (!URL.canParse(text)) return true;
    const pathname = new URL(text).pathname;
    return pathname === '' || pathname === '/';
  },
  { message: 'must be a server URL without a database name (databases are <DATABASE_PREFIX>_<subgraph>)' },
);

export const commonEnvShape = {
  NODE_ENV: envEnum(NODE_ENVS, 'development'),
  LOG_LEVEL: envEnum(LOG_LEVELS, 'info'),
  POSTGRES_URL: postgresServerUrl,
  AMQP_URL: envUrl('amqp://guest:guest@127.0.0.1:5672', { protocols: ['amqp:', 'amqps:'] }),
  DATABASE_PREFIX: z
    .string()
    .regex(DATABASE_PREFIX_PATTERN, 'must match ^[a-z][a-z0-9_]{0,40}$')
    .default('clearhouse'),
  BROKER_PREFIX: z.string().regex(BROKER_PREFIX_PATTERN, 'must match ^[a-z][a-z0-9_.-]{0,40}$').default('clearhouse'),
  INTERNAL_SIGNING_SECRET: requireInProduction(
    z.string().min(16, 'must be at least 16 characters'),
    DEVELOPMENT_INTERNAL_SIGNING_SECRET,
  ),
};

export type CommonEnv = z.infer<z.ZodObject<typeof commonEnvShape>>;

/** Every service with an outbox and an inbox (the four subgraphs): how long their rows are kept. */
export const messagingRetentionEnvShape = {
  OUTBOX_RETENTION_MS: envDurationMs(OUTBOX_RETENTION_MS_DEFAULT, { minMs: OUTBOX_RETENTION_MS_MIN, maxMs: 365 * 24 * 3_600_000 }),
  INBOX_RETENTION_MS: envDurationMs(INBOX_RETENTION_MS_DEFAULT, { minMs: INBOX_RETENTION_MS_MIN, maxMs: 365 * 24 * 3_600_000 }),
};

/**
 * The retention of a service's idempotency keys (cleanupExpiredIdempotencyKeys): kept
 * IDEMPOTENCY_KEY_RETENTION_MS (at least 24 h, as the design requires), deleted every
 * CLEANUP_INTERVAL_MS.
 */
export const idempotencyRetentionEnvShape = {
  IDEMPOTENCY_KEY_RETENTION_MS: envDurationMs(IDEMPOTENCY_KEY_RETENTION_MS_MIN, { minMs: IDEMPOTENCY_KEY_RETENTION_MS_MIN, maxMs: 30 * 24 * 3_600_000 }),
  CLEANUP_INTERVAL_MS: envDurationMs(3_600_000, { minMs: 1_000, maxMs: 24 * 3_600_000 }),
};

// PostgreSQL truncates identifiers beyond 63 bytes; a truncated name could alias another database.
const DATABASE_NAME_PATTERN = /^[a-z][a-z0-9_]{0,62}$/;

// The connection URL of one database on the server: the server URL with its path replaced.
// Two forms: databaseUrl(server, databaseName(prefix, subgraph)) or databaseUrl(server, prefix, subgraph).
export function databaseUrl(postgresServerUrlText: string, databaseNameText: string): string;
export function databaseUrl(postgresServerUrlText: string, databasePrefix: string, subgraph: string): string;
export function databaseUrl(postgresServerUrlText: string, nameOrPrefix: string, subgraph?: string): string {
  const name = subgraph === undefined ? nameOrPrefix : databaseName(nameOrPrefix, subgraph);
  invariant(DATABASE_NAME_PATTERN.test(name), 'databaseUrl: invalid database name');
  const url = new URL(postgresServerUrlText);
  invariant(url.protocol === 'postgresql:' || url.protocol === 'postgres:', 'databaseUrl: not a PostgreSQL URL');
  url.pathname = `/${name}`;
  return url.toString();
}

export function databaseName(databasePrefix: string, subgraph: string): string {
  invariant(DATABASE_PREFIX_PATTERN.test(databasePrefix), 'databaseName: invalid database prefix');
  invariant(SUBGRAPH_NAME_PATTERN.test(subgraph), 'databaseName: invalid subgraph name');
  return `${databasePrefix}_${subgraph}`;
}

// The topic exchange all domain events are published to.
export function eventsExchangeName(brokerPrefix: string): string {
  invariant(BROKER_PREFIX_PATTERN.test(brokerPrefix), 'eventsExchangeName: invalid broker prefix');
  return `${brokerPrefix}.events`;
}
