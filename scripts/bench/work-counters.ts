// Work per operation that does not depend on how fast the VM happens to be: PostgreSQL's own
// counters per database (`pg_stat_database`: committed transactions, rows inserted, updated and
// deleted). CPU per operation moves ±20–30 % with the VM's period; these counts move only when
// the code does, so they show what a change removed even where the CPU figures cannot.
//
// PostgreSQL 15 publishes a backend's counts at the end of a transaction at most once a second
// (and when the backend goes idle), so each reading can lag by up to a second's work; over the
// bench's phases (15–60 s) that is a few percent.
import { maintenanceUrl } from '@clearhouse/shared';
import { Client } from 'pg';

export interface DatabaseWork {
  commits: number;
  rowsWritten: number;
}

export type WorkSnapshot = Map<string, DatabaseWork>;

/** A LIKE pattern for the names that start with `prefix` (its `_` taken literally). */
export function prefixPattern(prefix: string): string {
  return `${prefix.replace(/[\\_%]/g, (c) => `\\${c}`)}%`;
}

/** Counters of every database whose name starts with `databasePrefix`, keyed by the rest of the name. */
export async function workSnapshot(serverUrl: string, databasePrefix: string): Promise<WorkSnapshot> {
  const client = new Client({ connectionString: maintenanceUrl(serverUrl) });
  client.on('error', () => undefined);
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string; commits: string; rows_written: string }>(
      `SELECT datname, xact_commit::text AS commits, (tup_inserted + tup_updated + tup_deleted)::text AS rows_written
         FROM pg_stat_database WHERE datname LIKE $1`,
      [prefixPattern(databasePrefix)],
    );
    return new Map(rows.map((row) => [row.datname.slice(databasePrefix.length).replace(/^_/, ''), { commits: Number(row.commits), rowsWritten: Number(row.rows_written) }]));
  } finally {
    await client.end().catch(() => undefined);
  }
}

export function workDelta(before: WorkSnapshot, after: WorkSnapshot): Record<string, DatabaseWork> {
  const delta: Record<string, DatabaseWork> = {};
  for (const [database, end] of after) {
    const start = before.get(database) ?? { commits: 0, rowsWritten: 0 };
    delta[database] = { commits: Math.max(0, end.commits - start.commits), rowsWritten: Math.max(0, end.rowsWritten - start.rowsWritten) };
  }
  return delta;
}
