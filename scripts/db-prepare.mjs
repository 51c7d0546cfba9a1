#!/usr/bin/env node
// npm run db:prepare — creates (when missing) and migrates every subgraph's database:
// <DATABASE_PREFIX>_<subgraph> on POSTGRES_URL. Offline: Prisma's WebAssembly schema engine.
// Runs the TypeScript library (shared/src/db) through tsx, so no build step is needed.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const db = await tsImport(join(root, 'shared/src/db/index.ts'), import.meta.url);

const postgresServerUrl = process.env.POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432';
const prefix = process.env.DATABASE_PREFIX || 'clearhouse';
const { pathname } = new URL(postgresServerUrl);
if (pathname !== '' && pathname !== '/') {
  console.error(`db:prepare: POSTGRES_URL must name a server, not a database (databases are ${prefix}_<subgraph>)`);
  process.exit(1);
}

try {
  const prepared = await db.prepareDatabases({
    postgresServerUrl,
    prefix,
    subgraphs: db.SUBGRAPHS_WITH_DATABASE,
    migrationsRoot: join(root, 'prisma'),
  });
  for (const { database, created, applied } of prepared) {
    const state = created ? 'created' : 'exists';
    const migrations = applied.length === 0 ? 'up to date' : `applied ${applied.length}: ${applied.join(', ')}`;
    console.log(`db:prepare: ${database} ${state}, ${migrations}`);
  }
} catch (error) {
  console.error(`db:prepare: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
