// Throw-away databases for tests. Each createTestDatabase() call gets its own fully migrated
// database `clearhouse_test_<subgraph>_<random>`, so parallel Jest workers never see each
// other's rows, nor a running dev instance's `clearhouse_<subgraph>` databases.
//
// Speed: the migrations run once per (subgraph, content hash of its migrations folder) into a
// template database `clearhouse_tpl_<subgraph>_<hash8>`; every test database is then a file
// copy (`CREATE DATABASE ... TEMPLATE ...`). An advisory lock makes parallel workers build each
// template once. Test databases carry their creation time in a comment; drop() removes one, and
// dropStaleTestDatabases() sweeps those an aborted run left behind (run once per process).
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { dropDatabase, withAdvisoryLock, withPgClient } from '../db/admin.js';
import { applyMigrations, migrationsFolderHash } from '../db/migrate.js';
import { assertSafeDatabaseName, databaseUrlOnServer, maintenanceUrl, quoteIdentifier } from '../db/naming.js';
import { findPrismaRoot } from '../db/repo-root.js';

export const TEST_DATABASE_PREFIX = 'clearhouse_test_';
export const TEMPLATE_DATABASE_PREFIX = 'clearhouse_tpl_';
export const STALE_TEST_DATABASE_AGE_MS = 60 * 60_000;
const COMMENT_MARKER = 'clearhouse-test created_at=';
const CLONE_ATTEMPTS_MAX = 5;
const CLONE_RETRY_DELAY_MS = 250;
const STALE_DROPS_PER_SWEEP_MAX = 500;
const PG_OBJECT_IN_USE = '55006';
const PG_INVALID_CATALOG_NAME = '3D000';

export interface TestDatabaseOptions {
  /** Server URL without a database; default POSTGRES_URL or postgresql://postgres@127.0.0.1:5432. */
  postgresServerUrl?: string;
  /** The repo's prisma/ folder; found from this file by default. */
  prismaRoot?: string;
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

function defaultServerUrl(options: TestDatabaseOptions): string {
  return options.postgresServerUrl ?? process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
}

function pgErrorCode(error: unknown): string | undefined {
  return error && typeof error === 'object' && 'code' in error && typeof error.code === 'string' ? error.code : undefined;
}

function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}

export function templateDatabaseName(prismaRoot: string, subgraph: string): string {
  const hash8 = migrationsFolderHash(join(prismaRoot, subgraph, 'migrations')).slice(0, 8);
  const name = `${TEMPLATE_DATABASE_PREFIX}${subgraph}_${hash8}`;
  assertSafeDatabaseName(name);
  return name;
}

async function commentCreatedNow(client: Client, name: string): Promise<void> {
  const comment = `${COMMENT_MARKER}${new Date().toISOString()}`;
  await client.query(`COMMENT ON DATABASE ${quoteIdentifier(name)} IS '${comment}'`);
}

/** Builds the template once; a half-built one (a crashed builder) is dropped and rebuilt. */
async function ensureTemplate(postgresServerUrl: string, prismaRoot: string, subgraph: string, name: string): Promise<void> {
  const adminUrl = maintenanceUrl(postgresServerUrl);
  await withAdvisoryLock(adminUrl, `clearhouse:template:${name}`, () =>
    withPgClient(adminUrl, async (client) => {
      const existing = await client.query<{ datistemplate: boolean }>(
        'SELECT datistemplate FROM pg_database WHERE datname = $1',
        [name],
      );
      if (existing.rows[0]?.datistemplate === true) return;
      if (existing.rowCount === 1) await client.query(`DROP DATABASE ${quoteIdentifier(name)} WITH (FORCE)`);
      await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
      await commentCreatedNow(client, name);
      await applyMigrations({
        databaseUrl: databaseUrlOnServer(postgresServerUrl, name),
        migrationsDir: join(prismaRoot, subgraph, 'migrations'),
      });
      // Marked a template only once complete: that flag is what "ready" means above. No
      // connections allowed, since one would make every CREATE DATABASE ... TEMPLATE fail.
      await client.query(`ALTER DATABASE ${quoteIdentifier(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false`);
    }),
  );
}

async function cloneTemplate(postgresServerUrl: string, template: string, name: string): Promise<void> {
  await withPgClient(maintenanceUrl(postgresServerUrl), async (client) => {
    for (let attempt = 1; attempt <= CLONE_ATTEMPTS_MAX; attempt++) {
      try {
        await client.query(`CREATE DATABASE ${quoteIdentifier(name)} TEMPLATE ${quoteIdentifier(template)}`);
        await commentCreatedNow(client, name);
        return;
      } catch (error) {
        // "source database is being accessed by other users": a transient connection to the
        // template (e.g. someone's psql); anything else is a real failure.
        if (pgErrorCode(error) !== PG_OBJECT_IN_USE || attempt === CLONE_ATTEMPTS_MAX) throw error;
        await sleep(CLONE_RETRY_DELAY_MS * attempt);
      }
    }
  });
}

/** How long a test database's drop waits for its callers' connections to finish closing. */
const DROP_GRACE_MS = 2_000;

/**
 * Drops a test database once the connections its test closed are gone: a pool's end() resolves
 * when it has asked its connections to close, before the server has ended their backends, and
 * DROP … WITH (FORCE) would terminate those (pg then re-emits the error on a pool that may have
 * no handler left). Whatever is still connected after the grace period is terminated as before.
 */
async function dropTestDatabase(postgresServerUrl: string, name: string): Promise<void> {
  const deadline = Date.now() + DROP_GRACE_MS;
  await withPgClient(maintenanceUrl(postgresServerUrl), async (client) => {
    while (Date.now() < deadline) {
      const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if ((rows[0]?.n ?? 0) === 0) return;
      await sleep(25);
    }
  });
  await dropDatabase(postgresServerUrl, name);
}

const readyTemplates = new Set<string>();
let staleSweep: Promise<unknown> | null = null;

/** A fresh, fully migrated database of `subgraph`, private to the caller. */
export async function createTestDatabase(subgraph: string, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const postgresServerUrl = defaultServerUrl(options);
  const prismaRoot = options.prismaRoot ?? findPrismaRoot(__dirname);
  if (!existsSync(join(prismaRoot, subgraph, 'schema.prisma'))) throw new Error(`unknown subgraph ${subgraph} in ${prismaRoot}`);
  staleSweep ??= dropStaleTestDatabases({ postgresServerUrl, prismaRoot }).catch(() => undefined);
  await staleSweep;

  const template = templateDatabaseName(prismaRoot, subgraph);
  const name = `${TEST_DATABASE_PREFIX}${subgraph}_${randomBytes(6).toString('hex')}`;
  assertSafeDatabaseName(name);
  if (!readyTemplates.has(template)) {
    await ensureTemplate(postgresServerUrl, prismaRoot, subgraph, template);
    readyTemplates.add(template);
  }
  try {
    await cloneTemplate(postgresServerUrl, template, name);
  } catch (error) {
    // Another run's sweep may have dropped the template since; rebuild it once.
    if (pgErrorCode(error) !== PG_INVALID_CATALOG_NAME) throw error;
    await ensureTemplate(postgresServerUrl, prismaRoot, subgraph, template);
    await cloneTemplate(postgresServerUrl, template, name);
  }
  return {
    name,
    url: databaseUrlOnServer(postgresServerUrl, name),
    drop: () => dropTestDatabase(postgresServerUrl, name),
  };
}

/**
 * An empty database (no migrations) private to the caller, swept like the others if a run
 * dies before drop(): for tests of migrating itself.
 */
export async function createEmptyTestDatabase(label: string, options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const postgresServerUrl = defaultServerUrl(options);
  const name = `${TEST_DATABASE_PREFIX}${label}_${randomBytes(6).toString('hex')}`;
  assertSafeDatabaseName(name);
  await withPgClient(maintenanceUrl(postgresServerUrl), async (client) => {
    await client.query(`CREATE DATABASE ${quoteIdentifier(name)}`);
    await commentCreatedNow(client, name);
  });
  return {
    name,
    url: databaseUrlOnServer(postgresServerUrl, name),
    drop: () => dropTestDatabase(postgresServerUrl, name),
  };
}

export interface DropStaleOptions {
  postgresServerUrl?: string;
  prismaRoot?: string;
  /** Default one hour: older than any test run. */
  olderThanMs?: number;
}

/**
 * Drops `clearhouse_test_*` databases created more than `olderThanMs` ago, and templates as old
 * whose migrations no longer match the working tree. Returns the names dropped.
 */
export async function dropStaleTestDatabases(options: DropStaleOptions = {}): Promise<string[]> {
  const postgresServerUrl = defaultServerUrl(options);
  const prismaRoot = options.prismaRoot ?? findPrismaRoot(__dirname);
  const olderThanMs = options.olderThanMs ?? STALE_TEST_DATABASE_AGE_MS;
  const currentTemplates = new Set(
    readdirSync(prismaRoot)
      .filter((subgraph) => existsSync(join(prismaRoot, subgraph, 'migrations', 'migration_lock.toml')))
      .map((subgraph) => templateDatabaseName(prismaRoot, subgraph)),
  );
  const candidates = await withPgClient(maintenanceUrl(postgresServerUrl), async (client) => {
    const result = await client.query<{ datname: string; comment: string | null }>(
      `SELECT datname, shobj_description(oid, 'pg_database') AS comment FROM pg_database
        WHERE datname LIKE 'clearhouse\\_test\\_%' OR datname LIKE 'clearhouse\\_tpl\\_%'
        ORDER BY datname LIMIT ${STALE_DROPS_PER_SWEEP_MAX}`,
    );
    return result.rows;
  });
  const cutoffMs = Date.now() - olderThanMs;
  const dropped: string[] = [];
  for (const { datname, comment } of candidates) {
    if (currentTemplates.has(datname)) continue;
    const createdAtMs = comment?.startsWith(COMMENT_MARKER) ? Date.parse(comment.slice(COMMENT_MARKER.length)) : NaN;
    // No comment yet: a concurrent worker is between CREATE and COMMENT; leave it alone.
    if (!Number.isFinite(createdAtMs) || createdAtMs > cutoffMs) continue;
    try {
      await withPgClient(maintenanceUrl(postgresServerUrl), async (client) => {
        if (datname.startsWith(TEMPLATE_DATABASE_PREFIX)) {
          await client.query(`ALTER DATABASE ${quoteIdentifier(datname)} WITH IS_TEMPLATE false`);
        }
        await client.query(`DROP DATABASE IF EXISTS ${quoteIdentifier(datname)} WITH (FORCE)`);
      });
      dropped.push(datname);
    } catch {
      // Another sweeper got there first, or the database is in use; the next sweep retries.
    }
  }
  return dropped;
}
