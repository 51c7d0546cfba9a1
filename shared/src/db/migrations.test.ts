// The migrations folders against schema.prisma, and applyMigrations' guarantees, on the real
// PostgreSQL (POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432).
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { createEmptyTestDatabase, type TestDatabase } from '../testkit/database.js';
import { withPgClient } from './admin.js';
import { applyMigrations, listMigrations } from './migrate.js';
import { findPrismaRoot } from './repo-root.js';
import { dumpSchema, normalizeSchemaDump } from './schema-dump.js';
import { engineDiffEmptyToSchema } from './schema-engine.js';
import { maintenanceUrl } from './naming.js';
import { SUBGRAPHS_WITH_DATABASE } from './index.js';

jest.setTimeout(120_000);

const prismaRoot = findPrismaRoot(__dirname);
const postgresServerUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const databases: TestDatabase[] = [];

async function emptyDatabase(label: string): Promise<TestDatabase> {
  const database = await createEmptyTestDatabase(label, { postgresServerUrl });
  databases.push(database);
  return database;
}

afterAll(async () => {
  await Promise.all(databases.map((database) => database.drop()));
});

describe.each(SUBGRAPHS_WITH_DATABASE)('prisma/%s/migrations', (subgraph) => {
  const migrationsDir = join(prismaRoot, subgraph, 'migrations');
  const schemaPath = join(prismaRoot, subgraph, 'schema.prisma');

  // Fails when schema.prisma changed without a migration (npm run db:migration -- <subgraph> <name>),
  // or a migration changed the schema behind schema.prisma's back. Functions and triggers are
  // excluded (see normalizeSchemaDump): migrations may add them; schema.prisma cannot say them.
  it('produce exactly the schema schema.prisma describes', async () => {
    const migrated = await emptyDatabase(`${subgraph}_mig`);
    const fromSchema = await emptyDatabase(`${subgraph}_dm`);
    const { applied } = await applyMigrations({ databaseUrl: migrated.url, migrationsDir });
    expect(applied).toEqual(listMigrations(migrationsDir));
    const schemaSql = await engineDiffEmptyToSchema(maintenanceUrl(postgresServerUrl), schemaPath);
    await withPgClient(fromSchema.url, (client) => client.query(schemaSql));

    const migratedSchema = normalizeSchemaDump(await dumpSchema(migrated.url));
    const declaredSchema = normalizeSchemaDump(await dumpSchema(fromSchema.url));
    expect(declaredSchema).toContain('-- TABLE');
    expect(migratedSchema).toBe(declaredSchema);
  });
});

describe('normalizeSchemaDump', () => {
  const block = (name: string, type: string, body: string) => `--\n-- Name: ${name}; Type: ${type}; Schema: public; Owner: -\n--\n\n${body}\n`;
  const plain = block('t_a_idx', 'INDEX', 'CREATE INDEX t_a_idx ON public.t USING btree (a);');
  const expression = block('t_b_idx', 'INDEX', "CREATE INDEX t_b_idx ON public.t USING btree (((data ->> 'b'::text))) WHERE (kind = 'x'::text);");
  const statistics = block('t_b_stat', 'STATISTICS', "CREATE STATISTICS public.t_b_stat ON (data ->> 'b'::text) FROM public.t;");

  it('leaves out what schema.prisma cannot say (indexes on expressions, extended statistics), and only that', () => {
    expect(normalizeSchemaDump(plain + expression + statistics)).toBe(normalizeSchemaDump(plain));
    expect(normalizeSchemaDump(plain)).toContain('USING btree (a)');
    // An index on columns still counts: a migration that adds or drops one is a difference.
    expect(normalizeSchemaDump(plain + expression)).not.toBe(normalizeSchemaDump(expression));
  });
});

describe('applyMigrations', () => {
  const migrationsDir = join(prismaRoot, 'payments', 'migrations');

  it('is idempotent: a second run applies nothing', async () => {
    const database = await emptyDatabase('idem');
    const first = await applyMigrations({ databaseUrl: database.url, migrationsDir });
    const second = await applyMigrations({ databaseUrl: database.url, migrationsDir });
    expect(first.applied.length).toBeGreaterThan(0);
    expect(second.applied).toEqual([]);
    const rows = await withPgClient(database.url, (client) =>
      client.query('SELECT migration_name FROM _prisma_migrations WHERE finished_at IS NOT NULL ORDER BY migration_name'),
    );
    expect(rows.rows.map((row: { migration_name: string }) => row.migration_name)).toEqual(first.applied);
  });

  it('serializes concurrent migrators on one database', async () => {
    const database = await emptyDatabase('concurrent');
    const results = await Promise.all([
      applyMigrations({ databaseUrl: database.url, migrationsDir }),
      applyMigrations({ databaseUrl: database.url, migrationsDir }),
    ]);
    const applied = results.flatMap((result) => result.applied).sort();
    expect(applied).toEqual(listMigrations(migrationsDir));
  });

  it('refuses a database whose applied migration was edited since', async () => {
    const copyRoot = mkdtempSync(join(tmpdir(), 'clearhouse-migrations-'));
    try {
      const copiedDir = join(copyRoot, 'migrations');
      cpSync(migrationsDir, copiedDir, { recursive: true });
      const database = await emptyDatabase('edited');
      await applyMigrations({ databaseUrl: database.url, migrationsDir: copiedDir });
      const [firstMigration] = listMigrations(copiedDir);
      appendFileSync(join(copiedDir, firstMigration ?? '', 'migration.sql'), '\n-- edited after it was applied\n');
      await expect(applyMigrations({ databaseUrl: database.url, migrationsDir: copiedDir })).rejects.toThrow(
        /edited after they were applied.*never edit an applied migration/is,
      );
    } finally {
      rmSync(copyRoot, { recursive: true, force: true });
    }
  });

  it('applies hand-written functions and triggers whole, and refuses after a failed migration', async () => {
    const copyRoot = mkdtempSync(join(tmpdir(), 'clearhouse-migrations-'));
    try {
      const copiedDir = join(copyRoot, 'migrations');
      cpSync(migrationsDir, copiedDir, { recursive: true });
      const triggerDir = join(copiedDir, '99990101000000_trigger');
      cpSync(join(copiedDir, listMigrations(copiedDir)[0] ?? ''), triggerDir, { recursive: true });
      const triggerSql = [
        'CREATE FUNCTION count_attempt() RETURNS trigger LANGUAGE plpgsql AS $$',
        'BEGIN',
        '  NEW.attempts := NEW.attempts + 1;',
        '  RETURN NEW;',
        'END;',
        '$$;',
        'CREATE TRIGGER outbox_count_attempt BEFORE UPDATE ON outbox_messages',
        '  FOR EACH ROW EXECUTE FUNCTION count_attempt();',
      ].join('\n');
      rmSync(join(triggerDir, 'migration.sql'));
      appendFileSync(join(triggerDir, 'migration.sql'), triggerSql);
      const database = await emptyDatabase('trigger');
      const { applied } = await applyMigrations({ databaseUrl: database.url, migrationsDir: copiedDir });
      expect(applied).toContain('99990101000000_trigger');

      const failingDir = join(copiedDir, '99990102000000_failing');
      cpSync(triggerDir, failingDir, { recursive: true });
      rmSync(join(failingDir, 'migration.sql'));
      appendFileSync(join(failingDir, 'migration.sql'), 'CREATE TABLE half_done (id int);\nSELECT 1 / 0;\n');
      await expect(applyMigrations({ databaseUrl: database.url, migrationsDir: copiedDir })).rejects.toThrow(/division by zero/);
      // One transaction: the failed migration left nothing behind ...
      const halfDone = await withPgClient(database.url, (client: Client) => client.query("SELECT to_regclass('half_done') AS t"));
      expect(halfDone.rows[0]).toEqual({ t: null });
      // ... and is remembered, so later runs stop until someone resolves it.
      await expect(applyMigrations({ databaseUrl: database.url, migrationsDir: copiedDir })).rejects.toThrow(
        /recorded as failed/,
      );
    } finally {
      rmSync(copyRoot, { recursive: true, force: true });
    }
  });
});
