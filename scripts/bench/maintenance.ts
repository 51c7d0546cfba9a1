// A stand-in for PostgreSQL's autovacuum on the bench's own databases, used only when the
// server runs with `autovacuum = off` (as this machine's does, for its CI).
//
// Every real installation runs autovacuum: it keeps the planner's statistics current (ANALYZE)
// and clears the dead versions of hot rows (VACUUM). Without it, the bench's databases, created
// empty for each run, keep the statistics of empty tables all run long, and the generic plans
// that PL/pgSQL functions and prepared statements cache after five executions stay the plans
// chosen for empty tables: measured on 2026-12-02, the ledger's commit-time balance check took
// 0.93 ms per posting instead of 0.12 ms, and a ledger read 0.48 ms instead of 0.07 ms. ANALYZE
// invalidates those cached plans, as autovacuum's would.
//
// Each pass looks at every table of the run's databases and does what autovacuum would do with
// its default settings: ANALYZE a table with more than 50 + 10 % of its rows changed since the
// last analyze, VACUUM one with more than 50 + 20 % dead rows or 1000 + 20 % rows inserted since
// the last vacuum. Its VACUUM and ANALYZE run with the server's autovacuum cost-based delay
// (`autovacuum_vacuum_cost_delay`, 2 ms by default, after every `autovacuum_vacuum_cost_limit`,
// i.e. `vacuum_cost_limit`, 200 units of work), as an autovacuum worker's do; a manual VACUUM
// runs undelayed by default, and the stand-in's bursts used to take a core at once every 10 s
// (BENCHMARKS.md, sixth session). Autovacuum visits each database once per
// `autovacuum_naptime` (60 s); the stand-in visits the run's databases every 10 s, so that
// databases created empty for the run get their statistics early: it does more work than
// autovacuum would, not less. The work runs in PostgreSQL backends of the run's databases, so
// its CPU is charged to PostgreSQL, as autovacuum's would be.
import { databaseUrlOnServer, maintenanceUrl } from '@clearhouse/shared';
import { Client } from 'pg';
import { prefixPattern } from './work-counters';

export interface MaintenanceStats {
  readonly active: boolean;
  passes: number;
  analyzed: number;
  vacuumed: number;
  /** The cost-based delay its VACUUM and ANALYZE ran with (autovacuum's), once a pass ran. */
  costDelay: { delay: string; limit: number } | null;
  errors: string[];
}

export interface Maintenance {
  readonly stats: MaintenanceStats;
  stop(): Promise<void>;
}

const INTERVAL_MS = 10_000;

/**
 * Gives this session the cost-based delay of the server's autovacuum workers, for the VACUUM and
 * ANALYZE it runs next; returns the settings it applied.
 */
export async function useAutovacuumCostDelay(client: Client): Promise<{ delay: string; limit: number }> {
  const { rows } = await client.query<{ delay: string; limit: string; fallback: string }>(
    `SELECT current_setting('autovacuum_vacuum_cost_delay') AS delay, current_setting('autovacuum_vacuum_cost_limit') AS limit,
            current_setting('vacuum_cost_limit') AS fallback`,
  );
  const row = rows[0];
  if (!row) throw new Error('no autovacuum settings');
  // -1 for either means "use the vacuum_ setting" (PostgreSQL's documented default).
  const delay = row.delay === '-1' ? (await client.query<{ delay: string }>(`SELECT current_setting('vacuum_cost_delay') AS delay`)).rows[0]?.delay ?? '0' : row.delay;
  const limit = Number(row.limit === '-1' ? row.fallback : row.limit);
  await client.query(`SELECT set_config('vacuum_cost_delay', $1, false), set_config('vacuum_cost_limit', $2, false)`, [delay, String(limit)]);
  return { delay, limit };
}

const quoteIdentifier = (name: string) => `"${name.replace(/"/g, '""')}"`;

interface TableState {
  relname: string;
  reltuples: number;
  n_dead_tup: number;
  n_mod_since_analyze: number;
  n_ins_since_vacuum: number;
}


export async function maintainDatabase(serverUrl: string, database: string, stats: MaintenanceStats): Promise<void> {
  const client = new Client({ connectionString: databaseUrlOnServer(serverUrl, database) });
  client.on('error', () => undefined);
  await client.connect();
  try {
    stats.costDelay = await useAutovacuumCostDelay(client);
    const { rows } = await client.query<TableState>(
      `SELECT s.relname, greatest(c.reltuples, 0)::float8 AS reltuples, s.n_dead_tup::float8 AS n_dead_tup,
              s.n_mod_since_analyze::float8 AS n_mod_since_analyze, s.n_ins_since_vacuum::float8 AS n_ins_since_vacuum
         FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid`,
    );
    for (const table of rows) {
      const vacuum = table.n_dead_tup > 50 + 0.2 * table.reltuples || table.n_ins_since_vacuum > 1000 + 0.2 * table.reltuples;
      const analyze = table.n_mod_since_analyze > 50 + 0.1 * table.reltuples;
      if (!vacuum && !analyze) continue;
      await client.query(`${vacuum ? (analyze ? 'VACUUM (ANALYZE)' : 'VACUUM') : 'ANALYZE'} ${quoteIdentifier(table.relname)}`);
      if (vacuum) stats.vacuumed += 1;
      if (analyze) stats.analyzed += 1;
    }
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Starts the stand-in when the server's autovacuum is off; `databasePrefix` selects the run's databases. */
export async function startMaintenance(serverUrl: string, databasePrefix: string): Promise<Maintenance> {
  const admin = new Client({ connectionString: maintenanceUrl(serverUrl) });
  admin.on('error', () => undefined);
  await admin.connect();
  const setting = await admin.query<{ autovacuum: string }>('SHOW autovacuum');
  const active = setting.rows[0]?.autovacuum === 'off';
  const stats: MaintenanceStats = { active, passes: 0, analyzed: 0, vacuumed: 0, costDelay: null, errors: [] };
  if (!active) {
    await admin.end();
    return { stats, stop: async () => undefined };
  }
  let stopped = false;
  let wake: (() => void) | null = null;
  const pattern = prefixPattern(databasePrefix);
  const loop = (async () => {
    while (!stopped) {
      await new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, INTERVAL_MS).unref();
      });
      if (stopped) break;
      try {
        const { rows } = await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname', [pattern]);
        for (const { datname } of rows) {
          if (stopped) break;
          // A database dropped meanwhile (the end of scenario c; DROP … WITH (FORCE) ends our
          // session) is simply gone.
          await maintainDatabase(serverUrl, datname, stats).catch((error: unknown) => {
            if (!/does not exist|terminat|Connection terminated/i.test(String(error))) stats.errors.push(`${datname}: ${String(error)}`);
          });
        }
        stats.passes += 1;
      } catch (error) {
        stats.errors.push(String(error));
      }
    }
  })();
  return {
    stats,
    async stop() {
      stopped = true;
      (wake as (() => void) | null)?.();
      await loop;
      await admin.end().catch(() => undefined);
    },
  };
}
