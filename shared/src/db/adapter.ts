// The driver adapter each subgraph builds its PrismaClient with:
//   new PrismaClient({ adapter: createPgAdapter(env.DATABASE_URL, { poolMax: 10 }) })
import { PrismaPg } from '@prisma/adapter-pg';

export interface PgAdapterOptions {
  /** Upper bound on pooled connections (pg's default is 10). */
  poolMax?: number;
  /** How long a request may wait for a pooled connection before failing. */
  connectionTimeoutMs?: number;
  /** How long an idle pooled connection lives. */
  idleTimeoutMs?: number;
}

export function createPgAdapter(databaseUrl: string, options: PgAdapterOptions = {}): PrismaPg {
  const poolMax = options.poolMax ?? 10;
  if (!Number.isInteger(poolMax) || poolMax < 1 || poolMax > 1000) {
    throw new Error(`poolMax must be an integer in 1..1000, got ${poolMax}`);
  }
  return new PrismaPg({
    connectionString: databaseUrl,
    max: poolMax,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: options.idleTimeoutMs ?? 30_000,
  });
}
