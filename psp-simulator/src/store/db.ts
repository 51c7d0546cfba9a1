// The simulator's own PostgreSQL database: created if missing, tables created on start.
import { Client, Pool } from 'pg';

/** The three tables share one shape: an id, a kind, a creation time and the JSON document. */
export const tables = ['objects', 'idempotency_keys', 'jobs'] as const;
export type TableName = (typeof tables)[number];

function splitDatabaseUrl(databaseUrl: string): { adminUrl: string; databaseName: string } {
  const url = new URL(databaseUrl);
  const databaseName = decodeURIComponent(url.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_]+$/.test(databaseName)) throw new Error(`unsupported database name "${databaseName}"`);
  url.pathname = '/postgres';
  return { adminUrl: url.toString(), databaseName };
}

export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const { adminUrl, databaseName } = splitDatabaseUrl(databaseUrl);
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const found = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [databaseName]);
    if (found.rowCount === 0) {
      await client.query(`CREATE DATABASE "${databaseName}"`).catch((error: { code?: string }) => {
        // Another process created it between the check and the create.
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await client.end();
  }
}

/** How long a drop waits for the connections its caller closed to be gone. */
const dropGraceMs = 2_000;

/**
 * Drops the database once the connections its user closed are gone: a pool's end() resolves when
 * it has asked its connections to close, before the server has ended their backends, and DROP …
 * WITH (FORCE) would terminate those (pg then emits the error on a pool that has no handler left:
 * an unhandled error). Whatever is still connected after the grace period is terminated.
 */
export async function dropDatabase(databaseUrl: string): Promise<void> {
  const { adminUrl, databaseName } = splitDatabaseUrl(databaseUrl);
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const deadline = Date.now() + dropGraceMs;
    while (Date.now() < deadline) {
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [databaseName]);
      if ((rows[0]?.n ?? 0) === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    await client.query(`DROP DATABASE IF EXISTS "${databaseName}" WITH (FORCE)`);
  } finally {
    await client.end();
  }
}

export async function createTables(pool: Pool): Promise<void> {
  for (const table of tables) {
    await pool.query(
      `CREATE TABLE IF NOT EXISTS ${table} (
         seq bigserial,
         id text PRIMARY KEY,
         type text NOT NULL,
         created bigint NOT NULL,
         data jsonb NOT NULL
       )`,
    );
  }
}

export interface Row {
  id: string;
  type: string;
  created: number;
  data: Record<string, unknown>;
}

const loadBatchSize = 10_000;
const loadBatchesMax = 100_000;

/** Loads a whole table in creation order, in bounded pages (keyset on seq). */
export async function loadTable(pool: Pool, table: TableName): Promise<Row[]> {
  const rows: Row[] = [];
  let afterSeq = '0';
  for (let batch = 0; batch < loadBatchesMax; batch++) {
    const result = await pool.query<{ seq: string; id: string; type: string; created: string; data: Record<string, unknown> }>(
      `SELECT seq, id, type, created, data FROM ${table} WHERE seq > $1 ORDER BY seq LIMIT ${loadBatchSize}`,
      [afterSeq],
    );
    for (const row of result.rows) rows.push({ id: row.id, type: row.type, created: Number(row.created), data: row.data });
    const last = result.rows[result.rows.length - 1];
    if (!last || result.rows.length < loadBatchSize) return rows;
    afterSeq = last.seq;
  }
  throw new Error(`${table} has more rows than the loader's bound`);
}
