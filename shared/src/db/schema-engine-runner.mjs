#!/usr/bin/env node
// Runs one command of Prisma's WebAssembly schema engine (@prisma/schema-engine-wasm) in its own
// process, so callers need neither Prisma's native engine download (impossible offline) nor
// `--experimental-wasm-modules`, and Jest's module system never sees the ES-module wasm glue.
//
// Protocol: one JSON request on stdin, one JSON line on stdout:
//   { "ok": true, "result": ... } or { "ok": false, "error": { "message", "code" } }.
// Engine log lines go to stderr. Commands:
//   applyMigrations        { databaseUrl, migrationsDir }        -> { applied: string[] }
//   diffEmptyToSchema      { databaseUrl, schemaPath }           -> { sql: string }
//   diffMigrationsToSchema { databaseUrl, migrationsDir, schemaPath } -> { sql: string }
// diffMigrationsToSchema replays the migrations INTO databaseUrl (the engine uses it as its
// shadow database), so callers pass a throw-away scratch database.
import { readFileSync, readdirSync, existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';

const require = createRequire(import.meta.url);
const NO_FILTERS = { externalTables: [], externalEnums: [] };
const PG_TYPE_CHAR_OID = 18;
const PG_TYPE_TEXT_OID = 25;
const MIGRATION_DIRS_MAX = 10_000;

// The wasm build reports a Rust panic's message through this global before it aborts; without
// it a panic surfaces only as "Cannot read properties of undefined (reading 'set_message')".
let lastPanicMessage = null;
globalThis.PRISMA_WASM_PANIC_REGISTRY = {
  set_message(message) {
    lastPanicMessage = message;
  },
};

async function loadSchemaEngine() {
  // The package's ESM entry imports the .wasm file directly (needs a Node flag); instantiating
  // it here with the glue module as its import object is equivalent and flag-free.
  const gluePath = require.resolve('@prisma/schema-engine-wasm/schema_engine_bg');
  const glue = await import(pathToFileURL(gluePath).href);
  const wasmBytes = readFileSync(join(dirname(gluePath), 'schema_engine_bg.wasm'));
  const { instance } = await WebAssembly.instantiate(wasmBytes, { './schema_engine_bg.js': glue });
  glue.__wbg_set_wasm(instance.exports);
  instance.exports.__wbindgen_start();
  return glue.SchemaEngine;
}

// Two adjustments to @prisma/adapter-pg, confined to this process:
// 1. PostgreSQL's internal `"char"` type (pg_constraint.contype, pg_class.relkind, ...) is not in
//    the adapter's type map, so every schema read-back failed with "Column type 'char' could not
//    be deserialized". Prisma's native driver reads it as a character, and the engine's schema
//    describer expects exactly that: it reads pg_constraint.contype as a char and panics on any
//    other type ("Getting constraint_type ... as char failed") as soon as a database has a CHECK,
//    exclusion or constraint-trigger constraint. So such a column is reported as the adapter's
//    Character type; its text form, a one-character string, is what that type carries.
// 2. executeScript() splits a script on ';', which breaks function bodies ($$ ... ; ... $$).
//    Prisma's native engine sends a migration as one simple-protocol query; do the same.
async function createPatchedAdapterFactory(databaseUrl) {
  const { PrismaPg } = require('@prisma/adapter-pg');
  const { bindMigrationAwareSqlAdapterFactory, ColumnTypeEnum } = require('@prisma/driver-adapter-utils');
  const factory = new PrismaPg({ connectionString: databaseUrl, max: 2 });
  const probe = await factory.connect();
  const adapterPrototype = Object.getPrototypeOf(probe);
  const queryablePrototype = Object.getPrototypeOf(adapterPrototype);
  await probe.dispose();
  if (
    typeof queryablePrototype.queryRaw !== 'function' ||
    typeof queryablePrototype.performIO !== 'function' ||
    typeof adapterPrototype.executeScript !== 'function' ||
    typeof ColumnTypeEnum?.Character !== 'number'
  ) {
    throw new Error('schema-engine-runner: @prisma/adapter-pg changed shape; review the patches here');
  }
  if (!queryablePrototype.__clearhousePatched) {
    const queryRaw = queryablePrototype.queryRaw;
    queryablePrototype.queryRaw = async function queryRawCharAsCharacter(query) {
      // The adapter's own type mapping refuses "char": hand it text for those columns, noting
      // which they were, then report them as Character. Per call, so concurrent queries on one
      // connection never mix up their columns.
      const charColumnIndexes = [];
      const performIO = this.performIO;
      const queryable = Object.create(this, {
        performIO: {
          value: async (ioQuery) => {
            const result = await performIO.call(this, ioQuery);
            (result?.fields ?? []).forEach((field, index) => {
              if (field.dataTypeID !== PG_TYPE_CHAR_OID) return;
              charColumnIndexes.push(index);
              field.dataTypeID = PG_TYPE_TEXT_OID;
            });
            return result;
          },
        },
      });
      const resultSet = await queryRaw.call(queryable, query);
      for (const index of charColumnIndexes) resultSet.columnTypes[index] = ColumnTypeEnum.Character;
      return resultSet;
    };
    adapterPrototype.executeScript = async function executeScriptWhole(script) {
      try {
        await this.client.query(script);
      } catch (error) {
        this.onError(error);
      }
    };
    queryablePrototype.__clearhousePatched = true;
  }
  return bindMigrationAwareSqlAdapterFactory(factory);
}

/** Reads a standard Prisma migrations folder into the engine's MigrationList shape. */
function readMigrationsList(migrationsDir) {
  const lockPath = join(migrationsDir, 'migration_lock.toml');
  const names = existsSync(migrationsDir)
    ? readdirSync(migrationsDir)
        .filter((name) => statSync(join(migrationsDir, name)).isDirectory())
        .sort()
    : [];
  if (names.length > MIGRATION_DIRS_MAX) throw new Error(`more than ${MIGRATION_DIRS_MAX} migrations in ${migrationsDir}`);
  return {
    baseDir: migrationsDir,
    lockfile: {
      path: 'migration_lock.toml',
      content: existsSync(lockPath) ? readFileSync(lockPath, 'utf8') : null,
    },
    shadowDbInitScript: '',
    migrationDirectories: names.map((name) => {
      const sqlPath = join(migrationsDir, name, 'migration.sql');
      return {
        path: name,
        migrationFile: {
          path: 'migration.sql',
          content: existsSync(sqlPath)
            ? { tag: 'ok', value: readFileSync(sqlPath, 'utf8') }
            : { tag: 'error', value: `missing ${sqlPath}` },
        },
      };
    }),
  };
}

function schemaFile(schemaPath) {
  return { path: schemaPath, content: readFileSync(schemaPath, 'utf8') };
}

async function applyMigrations(engine, { migrationsDir }) {
  const migrationsList = readMigrationsList(migrationsDir);
  const diagnosis = await engine.diagnoseMigrationHistory({
    migrationsList,
    optInToShadowDatabase: false,
    filters: NO_FILTERS,
  });
  if (diagnosis.failedMigrationNames.length > 0) {
    throw Object.assign(
      new Error(
        `migrations failed earlier and are recorded as failed in _prisma_migrations: ` +
          `${diagnosis.failedMigrationNames.join(', ')} (${migrationsDir}). Fix the database by hand, then ` +
          `mark them rolled back (prisma migrate resolve --rolled-back <name>) or drop the database.`,
      ),
      { code: 'MIGRATION_FAILED_EARLIER' },
    );
  }
  if (diagnosis.editedMigrationNames.length > 0) {
    throw Object.assign(
      new Error(
        `applied migrations were edited after they were applied (checksum mismatch): ` +
          `${diagnosis.editedMigrationNames.join(', ')} (${migrationsDir}). Never edit an applied migration; ` +
          `restore it and add a new migration instead.`,
      ),
      { code: 'MIGRATION_EDITED' },
    );
  }
  const output = await engine.applyMigrations({ migrationsList, filters: NO_FILTERS });
  return { applied: output.appliedMigrationNames };
}

async function diffEmptyToSchema(engine, { schemaPath }) {
  const output = await engine.diff({
    from: { tag: 'empty' },
    to: { tag: 'schemaDatamodel', files: [schemaFile(schemaPath)] },
    script: true,
    exitCode: null,
    filters: NO_FILTERS,
  });
  return { sql: output.stdout ?? '' };
}

async function diffMigrationsToSchema(engine, { migrationsDir, schemaPath }) {
  const output = await engine.diff({
    from: { tag: 'migrations', ...readMigrationsList(migrationsDir) },
    to: { tag: 'schemaDatamodel', files: [schemaFile(schemaPath)] },
    script: true,
    exitCode: null,
    filters: NO_FILTERS,
  });
  return { sql: output.stdout ?? '' };
}

const COMMANDS = { applyMigrations, diffEmptyToSchema, diffMigrationsToSchema };

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const request = JSON.parse(await readStdin());
  const command = COMMANDS[request.command];
  if (!command) throw new Error(`unknown schema engine command: ${request.command}`);
  if (typeof request.databaseUrl !== 'string') throw new Error('databaseUrl is required');
  const SchemaEngine = await loadSchemaEngine();
  // The engine needs some datamodel to learn the provider even for commands that ignore models.
  const datamodels = request.schemaPath
    ? [[request.schemaPath, readFileSync(request.schemaPath, 'utf8')]]
    : [['provider-only.prisma', 'datasource db {\n  provider = "postgresql"\n}\n']];
  const adapterFactory = await createPatchedAdapterFactory(request.databaseUrl);
  const engine = await SchemaEngine.new({ datamodels }, (line) => process.stderr.write(`${line}\n`), adapterFactory);
  return command(engine, request);
}

function reportFailure(error) {
  const detail = error instanceof Error ? error.message : String(error);
  const message = lastPanicMessage ? `schema engine panicked: ${lastPanicMessage} (${detail})` : detail;
  const code = error && typeof error === 'object' && 'code' in error ? String(error.code) : undefined;
  process.stdout.write(`${JSON.stringify({ ok: false, error: { message, code } })}\n`, () => process.exit(1));
}

// A wasm panic aborts with a RuntimeError thrown from a task the engine's promise never settles
// on; report it like any other failure instead of dying with a bare stack trace.
process.on('uncaughtException', reportFailure);
process.on('unhandledRejection', reportFailure);

main().then((result) => {
  process.stdout.write(`${JSON.stringify({ ok: true, result })}\n`, () => process.exit(0));
}, reportFailure);
