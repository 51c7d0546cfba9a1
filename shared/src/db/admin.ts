// Server-level chores on the maintenance database: create and drop databases, and serialize
// work across processes with advisory locks.
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { assertSafeDatabaseName, maintenanceUrl, quoteIdentifier } from './naming.js';

const PG_DUPLICATE_DATABASE = '42P04';
const PG_UNIQUE_VIOLATION = '23505';
const PG_LOCK_NOT_AVAILABLE = '55P03';
const CONNECT_TIMEOUT_MS = 10_000;
export const ADVISORY_LOCK_WAIT_MS_DEFAULT = 5 * 60_000;

function pgErrorCode(error: unknown): string | undefined {
  if (error && typeof error === 'object' && 'code' in error && typeof error.code === 'string') return error.code;
  return undefined;
}

export async function withPgClient<T>(connectionString: string, use: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString, connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  // A connection the server terminates while idle (e.g. a lock held during long work, or a
  // database dropped WITH (FORCE)) is reported as an 'error' event; without a listener that
  // would crash the process. The next query on the client fails with the same error anyway.
  client.on('error', () => undefined);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

export async function databaseExists(postgresServerUrl: string, name: string): Promise<boolean> {
  return withPgClient(maintenanceUrl(postgresServerUrl), async (client) => {
    const result = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    return result.rowCount === 1;
  });
}

/**
 * Creates the database if it is missing; true when this call created it. Safe when several
 * processes race: PostgreSQL reports the loser as duplicate_database, or as a unique violation
 * on pg_database when both passed the existence check at once.
 */
export async function ensureDatabase(postgresServerUrl: string, name: string): Promise<boolean> {
  assertSafeDatabaseName(name);
  return withPgClient(maintenanceUrl(postgresServerUrl), async (client) => {
    const existing = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (existing.rowCount === 1) return false;
    try {
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
      return true;
    } catch (error) {
      const code = pgErrorCode(error);
      if (code === PG_DUPLICATE_DATABASE || code === PG_UNIQUE_VIOLATION) return false;
      throw error;
    }
  });
}

/** Drops the database, disconnecting its sessions first (PostgreSQL 13+). */
export async function dropDatabase(postgresServerUrl: string, name: string): Promise<void> {
  assertSafeDatabaseName(name);
  if (name === 'postgres' || name.startsWith('template')) throw new Error(`refusing to drop ${name}`);
  await withPgClient(maintenanceUrl(postgresServerUrl), async (client) => {
    await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(name)} WITH (FORCE)`);
  });
}

/** A stable signed 64-bit advisory lock key for a lock name. */
export function advisoryLockKey(lockName: string): string {
  const digest = createHash('sha256').update(lockName).digest();
  return BigInt.asIntN(64, digest.readBigUInt64BE(0)).toString();
}

/**
 * Runs `work` while holding a session advisory lock on `connectionString`'s database. Advisory
 * locks are scoped to a database, so the same name on two databases does not contend. Waiting
 * is bounded by lock_timeout.
 */
export async function withAdvisoryLock<T>(
  connectionString: string,
  lockName: string,
  work: () => Promise<T>,
  lockWaitMsMax: number = ADVISORY_LOCK_WAIT_MS_DEFAULT,
): Promise<T> {
  if (!Number.isInteger(lockWaitMsMax) || lockWaitMsMax <= 0) throw new Error('lockWaitMsMax must be a positive integer');
  return withPgClient(connectionString, async (client) => {
    const key = advisoryLockKey(lockName);
    await client.query(`SET lock_timeout = ${lockWaitMsMax}`);
    try {
      await client.query('SELECT pg_advisory_lock($1::bigint)', [key]);
    } catch (error) {
      if (pgErrorCode(error) === PG_LOCK_NOT_AVAILABLE) {
        throw new Error(`gave up waiting ${lockWaitMsMax} ms for advisory lock "${lockName}"`, { cause: error });
      }
      throw error;
    }
    try {
      return await work();
    } finally {
      await client.query('SELECT pg_advisory_unlock($1::bigint)', [key]);
    }
  });
}
