// Composition root of the payouts subgraph: env → logger → prisma → broker → server.
import { join } from 'node:path';
import { Connection } from 'rabbitmq-client';
import { startSubgraphService, type HttpService, type Logger, type Stoppable } from '@clearhouse/shared';
import type { PayoutsEnv } from './env.js';
import type { PayoutsContext } from './graphql/context.js';
import { resolvers } from './graphql/resolvers/index.js';
import { createPayoutsPrisma } from './persistence/prisma.js';

export const SCHEMA_FILE = join(__dirname, '..', 'src', 'graphql', 'schema.graphql');

export interface RunningPayouts {
  readonly http: HttpService;
  readonly parts: readonly Stoppable[];
}

export async function startPayouts(env: PayoutsEnv, logger: Logger): Promise<RunningPayouts> {
  const parts: Stoppable[] = [];
  const prisma = createPayoutsPrisma({ postgresUrl: env.POSTGRES_URL, databasePrefix: env.DATABASE_PREFIX, poolMax: env.DB_POOL_MAX });
  parts.push({ name: 'prisma', stop: () => prisma.$disconnect() });
  const broker = new Connection({ url: env.AMQP_URL, connectionName: `${env.BROKER_PREFIX}.payouts` });
  broker.on('error', (error) => logger.warn({ err: error }, 'broker connection error'));
  parts.push({ name: 'broker', stop: () => broker.close() });

  const edge = await startSubgraphService<PayoutsContext>({
    service: 'payouts',
    port: env.PAYOUTS_PORT,
    host: env.PAYOUTS_HOST,
    production: env.NODE_ENV === 'production',
    signingSecret: env.INTERNAL_SIGNING_SECRET,
    logger,
    schemaFile: SCHEMA_FILE,
    resolvers,
    extendContext: (base) => ({ ...base, prisma }),
    readiness: async () => ({
      database: await prisma.$queryRawUnsafe('SELECT 1').then(() => true, () => false),
      broker: broker.ready,
    }),
  });
  parts.push(...edge.parts);
  return { http: edge.http, parts };
}
