// Creates and migrates every subgraph's database for a DATABASE_PREFIX (npm start, the e2e
// suite and the benchmark), and drops them again for throw-away prefixes.
import { join } from 'node:path';
import { dropDatabase, prepareDatabases, SUBGRAPHS_WITH_DATABASE, withPgClient, maintenanceUrl } from '@clearhouse/shared';
import { REPO_ROOT } from './platform';

function settings(env: Record<string, string | undefined>): { postgresServerUrl: string; prefix: string } {
  return { postgresServerUrl: env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432', prefix: env.DATABASE_PREFIX ?? 'clearhouse' };
}

export async function prepareAllDatabases(env: Record<string, string | undefined>, log: (line: string) => void): Promise<void> {
  const { postgresServerUrl, prefix } = settings(env);
  const prepared = await prepareDatabases({ postgresServerUrl, prefix, subgraphs: SUBGRAPHS_WITH_DATABASE, migrationsRoot: join(REPO_ROOT, 'prisma') });
  for (const database of prepared) {
    const migrations = database.applied.length === 0 ? 'up to date' : `applied ${database.applied.join(', ')}`;
    log(`database ${database.database}: ${database.created ? 'created' : 'exists'}, ${migrations}`);
  }
}

/** Drops every database of a prefix (subgraphs and the simulator's); only for test prefixes. */
export async function dropAllDatabases(env: Record<string, string | undefined>): Promise<void> {
  const { postgresServerUrl, prefix } = settings(env);
  if (!prefix.startsWith('clearhouse_test_') && !prefix.startsWith('clearhouse_bench_')) throw new Error(`refusing to drop databases of prefix ${prefix}`);
  const names = await withPgClient(maintenanceUrl(postgresServerUrl), async (client) => {
    const result = await client.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1', [`${prefix}\\_%`]);
    return result.rows.map((row) => row.datname);
  });
  for (const name of names) await dropDatabase(postgresServerUrl, name);
}
