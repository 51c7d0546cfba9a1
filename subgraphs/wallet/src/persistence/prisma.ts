import { createPgAdapter, databaseUrl } from '@clearhouse/shared';
import { PrismaClient } from '../generated/prisma/client.js';

export type WalletPrisma = PrismaClient;

export function createWalletPrisma(options: { postgresUrl: string; databasePrefix: string; poolMax: number }): PrismaClient {
  const url = databaseUrl(options.postgresUrl, options.databasePrefix, 'wallet');
  return new PrismaClient({ adapter: createPgAdapter(url, { poolMax: options.poolMax }) });
}
