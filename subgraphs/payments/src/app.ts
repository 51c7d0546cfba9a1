// Composition root of the payments subgraph: env → logger → prisma → broker → server.
import { join } from 'node:path';
import { Connection } from 'rabbitmq-client';
import { startSubgraphService, type HttpService, type Logger, type Stoppable } from '@clearhouse/shared';
import { ensureDevelopmentKeys } from './application/api-keys.js';
import type { PaymentsEnv } from './env.js';
import type { PaymentsContext } from './graphql/context.js';
import { apiKeyResolveRoute } from './graphql/internal-routes.js';
import { resolvers } from './graphql/resolvers/index.js';
import { prismaApiKeyRepository } from './persistence/api-keys.js';
import { createPaymentsPrisma } from './persistence/prisma.js';

export const SCHEMA_FILE = join(__dirname, '..', 'src', 'graphql', 'schema.graphql');

export interface RunningPayments {
  readonly http: HttpService;
  readonly parts: readonly Stoppable[];
}

export async function startPayments(env: PaymentsEnv, logger: Logger): Promise<RunningPayments> {
  const parts: Stoppable[] = [];
  const prisma = createPaymentsPrisma({ postgresUrl: env.POSTGRES_URL, databasePrefix: env.DATABASE_PREFIX, poolMax: env.DB_POOL_MAX });
  parts.push({ name: 'prisma', stop: () => prisma.$disconnect() });
  const broker = new Connection({ url: env.AMQP_URL, connectionName: `${env.BROKER_PREFIX}.payments` });
  broker.on('error', (error) => logger.warn({ err: error }, 'broker connection error'));
  parts.push({ name: 'broker', stop: () => broker.close() });

  const apiKeys = prismaApiKeyRepository(prisma);
  if (env.NODE_ENV !== 'production') {
    await ensureDevelopmentKeys(apiKeys, { platform: env.CLEARHOUSE_PLATFORM_KEY, ops: env.CLEARHOUSE_OPS_KEY });
  }

  const edge = await startSubgraphService<PaymentsContext>({
    service: 'payments',
    port: env.PAYMENTS_PORT,
    host: env.PAYMENTS_HOST,
    production: env.NODE_ENV === 'production',
    signingSecret: env.INTERNAL_SIGNING_SECRET,
    logger,
    schemaFile: SCHEMA_FILE,
    resolvers,
    extendContext: (base) => ({ ...base, apiKeys }),
    routes: [apiKeyResolveRoute(apiKeys, env.INTERNAL_SIGNING_SECRET)],
    readiness: async () => ({
      database: await prisma.$queryRawUnsafe('SELECT 1').then(() => true, () => false),
      broker: broker.ready,
    }),
  });
  parts.push(...edge.parts);
  return { http: edge.http, parts };
}
