// Composition root of the ledger subgraph: env → logger → prisma → broker → server.
import { join } from 'node:path';
import {
  type HttpService,
  type Logger,
  cleanupExpiredIdempotencyKeys,
  createMetricsRegistry,
  databaseUrl,
  openServiceDatabase,
  SERVICE_CONSUMER_BATCH_LINGER_MS,
  startPeriodicJob,
  startServiceMessaging,
  startSubgraphService,
  type Stoppable,
} from '@clearhouse/shared';
import type { LedgerEnv } from './env.js';
import { createLedgerLoaders, type LedgerContext } from './graphql/context.js';
import { resolvers } from './graphql/resolvers/index.js';
import { ledgerConsumers } from './messaging/index.js';
import { createLedgerPrisma } from './persistence/prisma.js';
import { startNightlyReconciliation } from './reconciliation/application/nightly.js';

export const SCHEMA_FILE = join(__dirname, '..', 'src', 'graphql', 'schema.graphql');

export interface RunningLedger {
  readonly http: HttpService;
  readonly parts: readonly Stoppable[];
}

export async function startLedger(env: LedgerEnv, logger: Logger): Promise<RunningLedger> {
  const parts: Stoppable[] = [];
  const prisma = createLedgerPrisma({ postgresUrl: env.POSTGRES_URL, databasePrefix: env.DATABASE_PREFIX, poolMax: env.DB_POOL_MAX });
  parts.push({ name: 'prisma', stop: () => prisma.$disconnect() });

  // Consumers, the outbox relay and every posting run raw SQL on node-postgres directly.
  const db = openServiceDatabase({ url: databaseUrl(env.POSTGRES_URL, env.DATABASE_PREFIX, 'ledger'), service: 'ledger', poolMax: env.DB_POOL_MAX, logger });
  parts.push({ name: 'pg', stop: () => db.end() });
  const metrics = createMetricsRegistry('ledger');
  const messaging = startServiceMessaging({
    service: 'ledger',
    amqpUrl: env.AMQP_URL,
    brokerPrefix: env.BROKER_PREFIX,
    db,
    logger,
    retention: { outboxPublishedMs: env.OUTBOX_RETENTION_MS, inboxMs: env.INBOX_RETENTION_MS },
    metricsRegistry: metrics,
  });
  const { broker, relay } = messaging;
  parts.push(...messaging.parts);

  const consumers = await messaging.startConsumers({
    db,
    prefix: env.BROKER_PREFIX,
    logger,
    onCommitted: () => relay.wake(),
    prefetch: env.LEDGER_CONSUMER_PREFETCH,
    batchLingerMs: SERVICE_CONSUMER_BATCH_LINGER_MS,
    consumers: ledgerConsumers({ hotAccountShards: env.LEDGER_HOT_ACCOUNT_SHARDS }),
  });
  parts.push({ name: 'consumers', stop: () => consumers.stop() });

  const edge = await startSubgraphService<LedgerContext>({
    service: 'ledger',
    port: env.LEDGER_PORT,
    host: env.LEDGER_HOST,
    production: env.NODE_ENV === 'production',
    signingSecret: env.INTERNAL_SIGNING_SECRET,
    logger,
    schemaFile: SCHEMA_FILE,
    resolvers,
    metrics,
    extendContext: (base) => ({ ...base, prisma, db, loaders: createLedgerLoaders(db), env }),
    readiness: async () => ({
      database: await prisma.$queryRawUnsafe('SELECT 1').then(() => true, () => false),
      broker: broker.ready,
    }),
  });
  parts.push(...edge.parts);
  parts.push(...startNightlyReconciliation(env, prisma, logger));
  parts.push(
    startPeriodicJob({
      name: 'idempotency-retention',
      intervalMs: env.CLEANUP_INTERVAL_MS,
      logger,
      run: () => cleanupExpiredIdempotencyKeys({ db, logger }, env.IDEMPOTENCY_KEY_RETENTION_MS),
    }),
  );
  return { http: edge.http, parts };
}
