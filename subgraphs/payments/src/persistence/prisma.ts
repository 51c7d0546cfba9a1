import { createPgAdapter, databaseUrl } from '@clearhouse/shared';
import { PrismaClient } from '../generated/prisma/client.js';

export type PaymentsPrisma = PrismaClient;

export function createPaymentsPrisma(options: { postgresUrl: string; databasePrefix: string; poolMax: number }): PrismaClient {
  const url = databaseUrl(options.postgresUrl, options.databasePrefix, 'payments');
  return new PrismaClient({ adapter: createPgAdapter(url, { poolMax: options.poolMax }) });
}
