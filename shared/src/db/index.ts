// Database tooling: names and URLs, creating databases, applying Prisma migrations offline
// (Prisma's WebAssembly schema engine), authoring migrations, and the subgraphs' driver adapter.
// databaseName(prefix, subgraph) and databaseUrl(server, prefix, subgraph) live in ../config.
export { databaseUrlOnServer, maintenanceUrl, assertSafeDatabaseName } from './naming.js';
export { ensureDatabase, dropDatabase, databaseExists, withAdvisoryLock, withPgClient } from './admin.js';
export {
  applyMigrations,
  prepareDatabases,
  listMigrations,
  migrationsFolderHash,
  type ApplyMigrationsOptions,
  type PrepareDatabasesOptions,
  type PreparedDatabase,
  type DbLogger,
} from './migrate.js';
export { createMigration, migrationTimestamp, type CreateMigrationOptions, type CreateMigrationResult } from './migration-authoring.js';
export {
  engineDiffEmptyToSchema,
  engineDiffMigrationsToSchema,
  isEmptyMigrationSql,
  SchemaEngineError,
} from './schema-engine.js';
export { createPgAdapter, type PgAdapterOptions } from './adapter.js';
export { findRepoRoot, findPrismaRoot } from './repo-root.js';

/** The subgraphs that own a database, in start-up order. */
export const SUBGRAPHS_WITH_DATABASE = ['payments', 'ledger', 'wallet', 'payouts'] as const;
export { createPgDatabase, openServiceDatabase, TransactionTimeoutError, type PgDatabase, type PgDatabaseOptions } from './pg-database.js';
export { deleteInBatches } from './batches.js';
