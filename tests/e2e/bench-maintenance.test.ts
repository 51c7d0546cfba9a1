// The bench's autovacuum stand-in (scripts/bench/maintenance.ts) against the real server: it
// vacuums and analyzes what autovacuum would, with autovacuum's cost-based delay (an undelayed
// manual VACUUM took a core at once), and visits each database once per autovacuum_naptime as
// autovacuum's launcher does (it visited each every 10 s, six times as often).
import { Client } from 'pg';
import { databaseUrlOnServer, maintenanceUrl } from '@clearhouse/shared';
import { autovacuumNaptimeMs, maintainDatabase, startMaintenance, useAutovacuumCostDelay, type MaintenanceStats } from '../../scripts/bench/maintenance';

const server = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const prefix = `clearhouse_test_benchmaint_${process.pid}`;
const database = `${prefix}_a`;
const second = `${prefix}_b`;

async function connect(name: string): Promise<Client> {
  const client = new Client({ connectionString: name === 'postgres' ? maintenanceUrl(server) : databaseUrlOnServer(server, name) });
  await client.connect();
  return client;
}

async function setting(client: Client, name: string): Promise<string> {
  const { rows } = await client.query<{ value: string }>('SELECT current_setting($1) AS value', [name]);
  return rows[0]!.value;
}

/** What an autovacuum worker runs with: its own settings, or the vacuum_ ones where they are -1. */
async function autovacuumCostDelay(client: Client): Promise<{ delay: string; limit: number }> {
  const delay = await setting(client, 'autovacuum_vacuum_cost_delay');
  const limit = await setting(client, 'autovacuum_vacuum_cost_limit');
  return {
    delay: delay === '-1' ? await setting(client, 'vacuum_cost_delay') : delay,
    limit: Number(limit === '-1' ? await setting(client, 'vacuum_cost_limit') : limit),
  };
}

beforeAll(async () => {
  const admin = await connect('postgres');
  for (const name of [database, second]) {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.query(`CREATE DATABASE ${name}`);
  }
  await admin.end();
});

afterAll(async () => {
  const admin = await connect('postgres');
  for (const name of [database, second]) await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

test("a session gets autovacuum's cost-based delay, which a manual VACUUM does not have", async () => {
  const client = await connect(database);
  try {
    const expected = await autovacuumCostDelay(client);
    // PostgreSQL's defaults: a manual VACUUM is not delayed; autovacuum's workers are.
    expect(await setting(client, 'vacuum_cost_delay')).toBe('0');
    expect(expected.delay).not.toBe('0');

    expect(await useAutovacuumCostDelay(client)).toEqual(expected);
    expect(await setting(client, 'vacuum_cost_delay')).toBe(expected.delay);
    expect(Number(await setting(client, 'vacuum_cost_limit'))).toBe(expected.limit);
  } finally {
    await client.end();
  }
});

test('a pass vacuums and analyzes the tables over autovacuum thresholds, with the delay, and leaves the others alone', async () => {
  const client = await connect(database);
  try {
    await client.query('CREATE TABLE churned (id int PRIMARY KEY, n int NOT NULL)');
    await client.query('CREATE TABLE quiet (id int PRIMARY KEY)');
    await client.query('INSERT INTO churned SELECT g, 0 FROM generate_series(1, 5000) g');
    await client.query('UPDATE churned SET n = n + 1');
    // The statistics collector reports a backend's counts when its transaction ends, at most
    // every half second; wait until the churn is visible.
    for (let waited = 0; waited < 10_000; waited += 100) {
      const { rows } = await client.query<{ n: string }>(`SELECT n_mod_since_analyze::text AS n FROM pg_stat_user_tables WHERE relname = 'churned'`);
      if (Number(rows[0]?.n ?? 0) >= 10_000) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }

    const stats: MaintenanceStats = { active: true, passes: 0, analyzed: 0, vacuumed: 0, costDelay: null, naptimeMs: 0, visits: {}, errors: [] };
    await maintainDatabase(server, database, stats);

    expect(stats).toMatchObject({ analyzed: 1, vacuumed: 1, errors: [] });
    expect(stats.costDelay).toEqual(await autovacuumCostDelay(client));
    const { rows } = await client.query<{ relname: string; vacuumed: boolean; analyzed: boolean }>(
      `SELECT relname, last_vacuum IS NOT NULL AS vacuumed, last_analyze IS NOT NULL AS analyzed FROM pg_stat_user_tables ORDER BY relname`,
    );
    expect(rows).toEqual([
      { relname: 'churned', vacuumed: true, analyzed: true },
      { relname: 'quiet', vacuumed: false, analyzed: false },
    ]);
  } finally {
    await client.end();
  }
});

test("the run's databases are visited one at a time, each once per naptime, as autovacuum's launcher does", async () => {
  const admin = await connect('postgres');
  try {
    // The server's own naptime is what a run uses (60 s by default).
    expect(await autovacuumNaptimeMs(admin)).toBe(Number((await admin.query<{ s: string }>(`SELECT setting AS s FROM pg_settings WHERE name = 'autovacuum_naptime'`)).rows[0]!.s) * 1000);
  } finally {
    await admin.end();
  }
  // A naptime of 2 s over two databases: a visit every second at the earliest, alternating.
  const startedAt = Date.now();
  const maintenance = await startMaintenance(server, prefix, { naptimeMs: 2000 });
  let fourthVisitAfterMs = 0;
  try {
    expect(maintenance.stats).toMatchObject({ active: true, naptimeMs: 2000 });
    while (maintenance.stats.passes < 4 && Date.now() - startedAt < 30_000) await new Promise((resolve) => setTimeout(resolve, 20));
    fourthVisitAfterMs = Date.now() - startedAt;
  } finally {
    await maintenance.stop();
  }
  expect(maintenance.stats.errors).toEqual([]);
  // Four visits took at least four waits of naptime / 2 (the old stand-in visited every database
  // back to back in each pass).
  expect(maintenance.stats.passes).toBeGreaterThanOrEqual(4);
  expect(fourthVisitAfterMs).toBeGreaterThanOrEqual(4 * 1000);
  const visits = maintenance.stats.visits;
  expect(Object.keys(visits).sort()).toEqual([database, second]);
  expect(Math.abs((visits[database] ?? 0) - (visits[second] ?? 0))).toBeLessThanOrEqual(1);
  expect((visits[database] ?? 0) + (visits[second] ?? 0)).toBe(maintenance.stats.passes);
});
