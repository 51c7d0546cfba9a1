import { createPgAdapter, databaseUrl } from '@clearhouse/shared';
import { PrismaClient } from '../generated/prisma/client.js';

export type PayoutsPrisma = PrismaClient;

/** `url` names the database directly (tests); otherwise it is <prefix>_payouts on the server. */
export function createPayoutsPrisma(options: { postgresUrl: string; databasePrefix: string; poolMax: number; url?: string }): PrismaClient {
  const url = options.url ?? databaseUrl(options.postgresUrl, options.databasePrefix, 'payouts');
  return new PrismaClient({ adapter: createPgAdapter(url, { poolMax: options.poolMax }) });
}
