import { createPgAdapter, databaseUrl } from '@clearhouse/shared';
import { PrismaClient } from '../generated/prisma/client.js';

export type LedgerPrisma = PrismaClient;

export function createLedgerPrisma(options: { postgresUrl: string; databasePrefix: string; poolMax: number }): PrismaClient {
  const url = databaseUrl(options.postgresUrl, options.databasePrefix, 'ledger');
  return new PrismaClient({ adapter: createPgAdapter(url, { poolMax: options.poolMax }) });
}
