// Applying migrations: the offline equivalent of `prisma migrate deploy`, per database, and the
// start-up step that creates and migrates every subgraph's database.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDatabase, withAdvisoryLock } from './admin.js';
import { databaseName } from '../config/index.js';
import { databaseUrlOnServer } from './naming.js';
import { engineApplyMigrations } from './schema-engine.js';

export interface DbLogger {
  info(message: string): void;
}

const MIGRATE_LOCK_NAME = 'clearhouse:migrate';
const MIGRATIONS_PER_FOLDER_MAX = 10_000;

export interface ApplyMigrationsOptions {
  databaseUrl: string;
  /** A standard Prisma migrations folder: <timestamp>_<name>/migration.sql + migration_lock.toml. */
  migrationsDir: string;
  logger?: DbLogger;
}

export function assertMigrationsFolder(migrationsDir: string): void {
  if (!existsSync(join(migrationsDir, 'migration_lock.toml'))) {
    throw new Error(`${migrationsDir} is not a Prisma migrations folder (no migration_lock.toml)`);
  }
}

/**
 * Applies pending migrations exactly like `prisma migrate deploy` (rows in _prisma_migrations),
 * offline, through Prisma's WebAssembly engine. Idempotent. Refuses when an applied migration
 * was edited or is recorded as failed. Concurrent callers on one database take turns.
 */
export async function applyMigrations(options: ApplyMigrationsOptions): Promise<{ applied: string[] }> {
  assertMigrationsFolder(options.migrationsDir);
  const applied = await withAdvisoryLock(options.databaseUrl, MIGRATE_LOCK_NAME, () =>
    engineApplyMigrations(options.databaseUrl, options.migrationsDir),
  );
  for (const name of applied) options.logger?.info(`applied migration ${name}`);
  return { applied };
}

/** Migration folder names in the order they apply. */
export function listMigrations(migrationsDir: string): string[] {
  const names = readdirSync(migrationsDir)
    .filter((name) => statSync(join(migrationsDir, name)).isDirectory())
    .sort();
  if (names.length > MIGRATIONS_PER_FOLDER_MAX) throw new Error(`too many migrations in ${migrationsDir}`);
  return names;
}

/** Changes whenever any migration (or the lock file) is added, removed or edited. */
export function migrationsFolderHash(migrationsDir: string): string {
  assertMigrationsFolder(migrationsDir);
  const hash = createHash('sha256');
  hash.update(readFileSync(join(migrationsDir, 'migration_lock.toml')));
  for (const name of listMigrations(migrationsDir)) {
    const sqlPath = join(migrationsDir, name, 'migration.sql');
    hash.update(`\0${name}\0`);
    if (existsSync(sqlPath)) hash.update(readFileSync(sqlPath));
  }
  return hash.digest('hex');
}

export interface PrepareDatabasesOptions {
  /** A server URL without a database, e.g. postgresql://postgres@127.0.0.1:5432. */
  postgresServerUrl: string;
  /** Database name prefix: `${prefix}_${subgraph}`. */
  prefix: string;
  subgraphs: readonly string[];
  /** The repo's prisma/ folder (findPrismaRoot()). */
  migrationsRoot: string;
  logger?: DbLogger;
}

export interface PreparedDatabase {
  subgraph: string;
  database: string;
  url: string;
  created: boolean;
  applied: string[];
}

/** Creates (when missing) and migrates each subgraph's database, one after another. */
export async function prepareDatabases(options: PrepareDatabasesOptions): Promise<PreparedDatabase[]> {
  const prepared: PreparedDatabase[] = [];
  for (const subgraph of options.subgraphs) {
    const database = databaseName(options.prefix, subgraph);
    const url = databaseUrlOnServer(options.postgresServerUrl, database);
    const created = await ensureDatabase(options.postgresServerUrl, database);
    const migrationsDir = join(options.migrationsRoot, subgraph, 'migrations');
    const { applied } = await applyMigrations({ databaseUrl: url, migrationsDir, logger: options.logger });
    options.logger?.info(
      `${database}: ${created ? 'created' : 'exists'}, ${applied.length === 0 ? 'up to date' : `applied ${applied.join(', ')}`}`,
    );
    prepared.push({ subgraph, database, url, created, applied });
  }
  return prepared;
}
