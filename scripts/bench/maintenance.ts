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
// Each visit to a database looks at its tables and does what autovacuum would do with its
// default settings: ANALYZE a table with more than 50 + 10 % of its rows changed since the last
// analyze, VACUUM one with more than 50 + 20 % dead rows or 1000 + 20 % rows inserted since the
// last vacuum. Like autovacuum:
// - its VACUUM and ANALYZE run with the server's autovacuum cost-based delay
//   (`autovacuum_vacuum_cost_delay`, 2 ms by default, after every `autovacuum_vacuum_cost_limit`,
//   i.e. `vacuum_cost_limit`, 200 units of work); a manual VACUUM runs undelayed by default and
//   took a core at once;
// - it visits one database every `autovacuum_naptime` / N (N = the run's databases), so each
//   database once per naptime (60 s by default). Until 2026-12-02 (sixth session) it visited all
//   of them every 10 s, six times as often as autovacuum. Every ANALYZE invalidates the cached
//   plans of its table, and every pooled connection of the services then plans its statements
//   again. The sixth session blamed that for most of the checkout latency tail; measured with
//   pg_stat_statements' planning times in the seventh, the replanning is small (well under a
//   second of CPU per minute), and the tail was mostly the phases' first seconds after too short
//   a warm-up (BENCHMARKS.md, change 40).
// The work runs in PostgreSQL backends of the run's databases, so its CPU is charged to
// PostgreSQL, as autovacuum's would be.
import { databaseUrlOnServer, maintenanceUrl } from '@clearhouse/shared';
import { Client } from 'pg';
import { prefixPattern } from './work-counters';

export interface MaintenanceStats {
  readonly active: boolean;
  passes: number;
  analyzed: number;
  vacuumed: number;
  /** autovacuum_naptime: each database is visited once per naptime. */
  naptimeMs: number;
  /** Visits per database. */
  visits: Record<string, number>;
  /** The cost-based delay its VACUUM and ANALYZE ran with (autovacuum's), once a pass ran. */
  costDelay: { delay: string; limit: number } | null;
  errors: string[];
}

export interface Maintenance {
  readonly stats: MaintenanceStats;
  stop(): Promise<void>;
}

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

/** The server's `autovacuum_naptime`, in ms. */
export async function autovacuumNaptimeMs(client: Client): Promise<number> {
  const { rows } = await client.query<{ seconds: number }>(`SELECT setting::int AS seconds FROM pg_settings WHERE name = 'autovacuum_naptime'`);
  return (rows[0]?.seconds ?? 60) * 1000;
}

/**
 * Starts the stand-in when the server's autovacuum is off; `databasePrefix` selects the run's
 * databases. Like autovacuum's launcher, it visits one database every naptime / N (N = the run's
 * databases, in name order, round robin), so each database once per naptime.
 */
export async function startMaintenance(serverUrl: string, databasePrefix: string, options: { naptimeMs?: number } = {}): Promise<Maintenance> {
  const admin = new Client({ connectionString: maintenanceUrl(serverUrl) });
  admin.on('error', () => undefined);
  await admin.connect();
  const setting = await admin.query<{ autovacuum: string }>('SHOW autovacuum');
  const active = setting.rows[0]?.autovacuum === 'off';
  const stats: MaintenanceStats = { active, passes: 0, analyzed: 0, vacuumed: 0, costDelay: null, naptimeMs: 0, visits: {}, errors: [] };
  if (!active) {
    await admin.end();
    return { stats, stop: async () => undefined };
  }
  const naptimeMs = options.naptimeMs ?? (await autovacuumNaptimeMs(admin));
  stats.naptimeMs = naptimeMs;
  let stopped = false;
  let wake: (() => void) | null = null;
  const pattern = prefixPattern(databasePrefix);
  const loop = (async () => {
    const sleep = (ms: number) =>
      new Promise<void>((resolve) => {
        wake = resolve;
        setTimeout(resolve, ms).unref();
      });
    const runDatabases = async () =>
      (await admin.query<{ datname: string }>('SELECT datname FROM pg_database WHERE datname LIKE $1 ORDER BY datname', [pattern])).rows.map((row) => row.datname);
    let last = '';
    while (!stopped) {
      try {
        // Until the run's databases exist, look again every second; then a visit every naptime / N.
        const before = await runDatabases();
        await sleep(before.length === 0 ? 1000 : naptimeMs / before.length);
        if (stopped) break;
        const names = await runDatabases();
        // The next database after the one visited last (names sort; a new one joins in order).
        const next = names.find((name) => name > last) ?? names[0];
        if (next === undefined) continue;
        last = next;
        // A database dropped meanwhile (the end of scenario c; DROP … WITH (FORCE) ends our
        // session) is simply gone.
        await maintainDatabase(serverUrl, next, stats).catch((error: unknown) => {
          if (!/does not exist|terminat|Connection terminated/i.test(String(error))) stats.errors.push(`${next}: ${String(error)}`);
        });
        stats.passes += 1;
        stats.visits[next] = (stats.visits[next] ?? 0) + 1;
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
