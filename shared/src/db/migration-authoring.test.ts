// createMigration (npm run db:migration) on copies of the real prisma/<subgraph> folders, against
// the real PostgreSQL (POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432). The engine
// replays the migrations, CHECK constraints included, and reads the result back.
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEmptyTestDatabase, type TestDatabase } from '../testkit/database.js';
import { withPgClient } from './admin.js';
import { applyMigrations, listMigrations } from './migrate.js';
import { createMigration } from './migration-authoring.js';
import { maintenanceUrl } from './naming.js';
import { findPrismaRoot } from './repo-root.js';
import { dumpSchema, normalizeSchemaDump } from './schema-dump.js';
import { engineDiffEmptyToSchema } from './schema-engine.js';
import { SUBGRAPHS_WITH_DATABASE } from './index.js';

jest.setTimeout(180_000);

const prismaRoot = findPrismaRoot(__dirname);
const postgresServerUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
// The databases createMigration and the engine create for themselves and must drop again.
const SCRATCH_DATABASE_PATTERN = /^(clearhouse_scratch_|prisma_migrate_shadow_db_)/;
const copyRoots: string[] = [];
const databases: TestDatabase[] = [];

/** prisma/<subgraph> copied into a fresh prisma root, so the tests never write into the repo. */
function copyOfPrismaFolder(subgraph: string): string {
  const copyRoot = mkdtempSync(join(tmpdir(), 'clearhouse-authoring-'));
  copyRoots.push(copyRoot);
  cpSync(join(prismaRoot, subgraph), join(copyRoot, subgraph), { recursive: true });
  return copyRoot;
}

async function scratchDatabaseNames(): Promise<string[]> {
  const result = await withPgClient(maintenanceUrl(postgresServerUrl), (client) =>
    client.query<{ datname: string }>('SELECT datname FROM pg_database'),
  );
  return result.rows.map((row) => row.datname).filter((name) => SCRATCH_DATABASE_PATTERN.test(name));
}

async function checkConstraintCount(databaseUrl: string): Promise<number> {
  const result = await withPgClient(databaseUrl, (client) =>
    client.query<{ count: string }>(
      "SELECT count(*) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE c.contype = 'c' AND n.nspname = 'public'",
    ),
  );
  return Number(result.rows[0]?.count);
}

afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
  for (const copyRoot of copyRoots) rmSync(copyRoot, { recursive: true, force: true });
});

describe.each(SUBGRAPHS_WITH_DATABASE)('createMigration for %s', (subgraph) => {
  it('reports that schema.prisma matches its migrations, and --empty writes an empty migration', async () => {
    const copyRoot = copyOfPrismaFolder(subgraph);
    const migrationsDir = join(copyRoot, subgraph, 'migrations');
    const migrationsBefore = listMigrations(migrationsDir);
    const scratchDatabasesBefore = await scratchDatabaseNames();

    const unchanged = await createMigration({ postgresServerUrl, prismaRoot: copyRoot, subgraph, name: 'nothing_to_do' });
    expect(unchanged).toEqual({ migrationDir: null, sql: '' });
    expect(listMigrations(migrationsDir)).toEqual(migrationsBefore);

    const now = new Date('2099-01-02T03:04:05Z');
    const empty = await createMigration({ postgresServerUrl, prismaRoot: copyRoot, subgraph, name: 'hand_written', empty: true, now });
    expect(empty.migrationDir).toBe(join(migrationsDir, '20990102030405_hand_written'));
    const emptySql = readFileSync(join(empty.migrationDir ?? '', 'migration.sql'), 'utf8');
    expect(emptySql).toBe(empty.sql);
    expect(emptySql.split('\n').every((line) => line === '' || line.startsWith('--'))).toBe(true);
    expect(listMigrations(migrationsDir)).toEqual([...migrationsBefore, '20990102030405_hand_written']);

    // No database the tool or the engine made for itself is left behind.
    const leftOver = (await scratchDatabaseNames()).filter((name) => !scratchDatabasesBefore.includes(name));
    expect(leftOver).toEqual([]);
  });
});

describe('createMigration for payments, whose migrations add CHECK constraints', () => {
  it('writes the SQL of a schema change, and those migrations produce what schema.prisma describes', async () => {
    const copyRoot = copyOfPrismaFolder('payments');
    const subgraphDir = join(copyRoot, 'payments');
    const migrationsDir = join(subgraphDir, 'migrations');
    const schemaPath = join(subgraphDir, 'schema.prisma');
    appendFileSync(
      schemaPath,
      '\nmodel AuthoringProbe {\n  id        String @id\n  noteText  String @map("note_text")\n\n  @@map("authoring_probes")\n}\n',
    );

    const created = await createMigration({ postgresServerUrl, prismaRoot: copyRoot, subgraph: 'payments', name: 'authoring_probe' });
    expect(created.migrationDir).not.toBeNull();
    const sql = readFileSync(join(created.migrationDir ?? '', 'migration.sql'), 'utf8');
    expect(sql).toBe(created.sql);
    expect(sql).toMatch(/CREATE TABLE "authoring_probes"/);
    // The CHECK constraints schema.prisma cannot express are not diffed away.
    expect(sql).not.toMatch(/DROP CONSTRAINT/);

    const migrated = await createEmptyTestDatabase('authoring_mig', { postgresServerUrl });
    databases.push(migrated);
    const fromSchema = await createEmptyTestDatabase('authoring_dm', { postgresServerUrl });
    databases.push(fromSchema);
    await applyMigrations({ databaseUrl: migrated.url, migrationsDir });
    expect(await checkConstraintCount(migrated.url)).toBeGreaterThan(0);
    const schemaSql = await engineDiffEmptyToSchema(maintenanceUrl(postgresServerUrl), schemaPath);
    await withPgClient(fromSchema.url, (client) => client.query(schemaSql));
    // normalizeSchemaDump leaves out the CHECK constraints, which schema.prisma cannot express.
    expect(normalizeSchemaDump(await dumpSchema(migrated.url))).toBe(normalizeSchemaDump(await dumpSchema(fromSchema.url)));
    expect(existsSync(join(migrationsDir, 'migration_lock.toml'))).toBe(true);
    expect(readdirSync(migrationsDir).filter((name) => name.endsWith('_authoring_probe'))).toHaveLength(1);
  });
});
