import { join } from 'node:path';
import { databaseUrlOnServer, maintenanceUrl } from './naming.js';
import { findPrismaRoot, findRepoRoot } from './repo-root.js';
import { isEmptyMigrationSql } from './schema-engine.js';
import { migrationTimestamp } from './migration-authoring.js';

describe('databaseUrlOnServer', () => {
  it('names the database and keeps credentials and query parameters', () => {
    expect(databaseUrlOnServer('postgresql://app:s%40cret@db.internal:6543?sslmode=require', 'clearhouse_ledger')).toBe(
      'postgresql://app:s%40cret@db.internal:6543/clearhouse_ledger?sslmode=require',
    );
    expect(databaseUrlOnServer('postgresql://postgres@127.0.0.1:5432/', 'clearhouse_wallet')).toBe(
      'postgresql://postgres@127.0.0.1:5432/clearhouse_wallet',
    );
    expect(maintenanceUrl('postgres://u@h:1')).toBe('postgres://u@h:1/postgres');
  });

  it('refuses unsafe names and other schemes', () => {
    expect(() => databaseUrlOnServer('postgresql://h', 'Bad-Name')).toThrow(/invalid database name/);
    expect(() => databaseUrlOnServer('mysql://h', 'ok')).toThrow(/not a PostgreSQL URL/);
  });
});

describe('findRepoRoot', () => {
  it('finds the monorepo root and its prisma folder from inside a workspace', () => {
    const root = findRepoRoot(__dirname);
    expect(findPrismaRoot(join(root, 'shared', 'dist', 'db'))).toBe(join(root, 'prisma'));
  });
});

describe('migration helpers', () => {
  it('formats the migration timestamp in UTC', () => {
    expect(migrationTimestamp(new Date('2025-03-04T05:06:07.890Z'))).toBe('20250304050607');
  });

  it('recognizes the engine\'s empty diff', () => {
    expect(isEmptyMigrationSql('-- This is an empty migration.\n')).toBe(true);
    expect(isEmptyMigrationSql('-- AlterTable\nALTER TABLE "x" ADD COLUMN "y" TEXT;\n')).toBe(false);
  });
});
