// Composition root of the wallet subgraph: env → logger → prisma → broker → server.
import { join } from 'node:path';
import {
  type HttpService,
  type Logger,
  createMetricsRegistry,
  databaseUrl,
  openServiceDatabase,
  SERVICE_CONSUMER_BATCH_LINGER_MS,
  startServiceMessaging,
  startSubgraphService,
  type Stoppable,
} from '@clearhouse/shared';
import type { WalletEnv } from './env.js';
import type { WalletContext } from './graphql/context.js';
import { walletInternalRoutes } from './graphql/internal-routes.js';
import { resolvers } from './graphql/resolvers/index.js';
import { walletConsumers } from './messaging/index.js';
import { createWalletPrisma } from './persistence/prisma.js';

export const SCHEMA_FILE = join(__dirname, '..', 'src', 'graphql', 'schema.graphql');

/**
 * The ops `audit` sends the wallet every seller's ledger balances (the `@requires` of
 * walletMatchesLedger, ~110 bytes per seller and currency): the default 1 MiB failed the audit
 * from ~10,000 sellers on. 64 MiB carries ~600,000; past that, `npm run audit` (which reads both
 * databases) is the tool. Only the gateway, signing its requests, calls this port.
 */
export const WALLET_REQUEST_BYTES_MAX = 64 * 1024 * 1024;

export interface RunningWallet {
  readonly http: HttpService;
  readonly parts: readonly Stoppable[];
}

export async function startWallet(env: WalletEnv, logger: Logger): Promise<RunningWallet> {
  const parts: Stoppable[] = [];
  const prisma = createWalletPrisma({ postgresUrl: env.POSTGRES_URL, databasePrefix: env.DATABASE_PREFIX, poolMax: env.DB_POOL_MAX });
  parts.push({ name: 'prisma', stop: () => prisma.$disconnect() });

  // Consumers, the outbox relay and every posting run raw SQL on node-postgres directly.
  const db = openServiceDatabase({ url: databaseUrl(env.POSTGRES_URL, env.DATABASE_PREFIX, 'wallet'), service: 'wallet', poolMax: env.DB_POOL_MAX, logger });
  parts.push({ name: 'pg', stop: () => db.end() });
  const metrics = createMetricsRegistry('wallet');
  const messaging = startServiceMessaging({
    service: 'wallet',
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
    prefetch: env.WALLET_CONSUMER_PREFETCH,
    batchLingerMs: SERVICE_CONSUMER_BATCH_LINGER_MS,
    consumers: walletConsumers,
  });
  parts.push({ name: 'consumers', stop: () => consumers.stop() });

  const edge = await startSubgraphService<WalletContext>({
    service: 'wallet',
    port: env.WALLET_PORT,
    host: env.WALLET_HOST,
    production: env.NODE_ENV === 'production',
    signingSecret: env.INTERNAL_SIGNING_SECRET,
    logger,
    schemaFile: SCHEMA_FILE,
    resolvers,
    metrics,
    extendContext: (base) => ({ ...base, prisma }),
    routes: walletInternalRoutes(db, env.INTERNAL_SIGNING_SECRET),
    bodyBytesMax: WALLET_REQUEST_BYTES_MAX,
    readiness: async () => ({
      database: await prisma.$queryRawUnsafe('SELECT 1').then(() => true, () => false),
      broker: broker.ready,
    }),
  });
  parts.push(...edge.parts);
  return { http: edge.http, parts };
}
