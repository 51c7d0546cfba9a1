#!/usr/bin/env node
// npm run db:migration -- <subgraph> <name> [--empty]
// Writes prisma/<subgraph>/migrations/<YYYYMMDDHHMMSS>_<name>/migration.sql: the SQL taking the
// schema the existing migrations produce to the current schema.prisma (offline: the migrations
// are replayed into a scratch database that is dropped afterwards). Review the file; you may
// append hand-written SQL (functions, triggers) before it is applied anywhere. --empty creates
// a migration with no generated SQL, to write raw SQL in.
import { existsSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tsImport } from 'tsx/esm/api';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const usage = 'usage: npm run db:migration -- <subgraph> <snake_case_name> [--empty]';
const args = process.argv.slice(2);
const empty = args.includes('--empty');
const positional = args.filter((arg) => !arg.startsWith('--'));
const unknownFlags = args.filter((arg) => arg.startsWith('--') && arg !== '--empty');
if (positional.length !== 2 || unknownFlags.length > 0) {
  console.error(usage);
  process.exit(2);
}
const [subgraph, name] = positional;
if (!existsSync(join(root, 'prisma', subgraph, 'schema.prisma'))) {
  console.error(`db:migration: no prisma/${subgraph}/schema.prisma\n${usage}`);
  process.exit(2);
}

const db = await tsImport(join(root, 'shared/src/db/index.ts'), import.meta.url);
try {
  const result = await db.createMigration({
    postgresServerUrl: process.env.POSTGRES_URL || 'postgresql://postgres@127.0.0.1:5432',
    prismaRoot: join(root, 'prisma'),
    subgraph,
    name,
    empty,
  });
  if (result.migrationDir === null) {
    console.log(`db:migration: prisma/${subgraph}/schema.prisma matches its migrations; nothing to create (use --empty for hand-written SQL)`);
  } else {
    console.log(`db:migration: wrote ${relative(root, join(result.migrationDir, 'migration.sql'))}`);
  }
} catch (error) {
  console.error(`db:migration: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
