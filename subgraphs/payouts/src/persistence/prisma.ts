import { createPgAdapter, databaseUrl } from '@clearhouse/shared';
import { PrismaClient } from '../generated/prisma/client.js';

export type PayoutsPrisma = PrismaClient;

export function createPayoutsPrisma(options: { postgresUrl: string; databasePrefix: string; poolMax: number }): PrismaClient {
  const url = databaseUrl(options.postgresUrl, options.databasePrefix, 'payouts');
  return new PrismaClient({ adapter: createPgAdapter(url, { poolMax: options.poolMax }) });
}
