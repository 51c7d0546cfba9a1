// Calls Prisma's WebAssembly schema engine through schema-engine-runner.mjs in a child process
// (see that file for why). One implementation serves the library, the scripts and Jest.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

const RUNNER_FILE = 'schema-engine-runner.mjs';
export const SCHEMA_ENGINE_TIMEOUT_MS_DEFAULT = 5 * 60_000;
const STDERR_TAIL_CHARS_MAX = 4_000;

export type SchemaEngineRequest =
  | { command: 'applyMigrations'; databaseUrl: string; migrationsDir: string }
  | { command: 'diffEmptyToSchema'; databaseUrl: string; schemaPath: string }
  | { command: 'diffMigrationsToSchema'; databaseUrl: string; migrationsDir: string; schemaPath: string };

export class SchemaEngineError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
    this.name = 'SchemaEngineError';
  }
}

/** src/db/ when running from sources; dist/db/ has no copy, so fall back to the sources. */
function runnerPath(): string {
  const candidates = [join(__dirname, RUNNER_FILE), join(__dirname, '..', '..', 'src', 'db', RUNNER_FILE)];
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`schema engine runner not found; looked in ${candidates.join(', ')}`);
  return found;
}

function callRunner(
  request: SchemaEngineRequest,
  timeoutMs: number = SCHEMA_ENGINE_TIMEOUT_MS_DEFAULT,
): Promise<unknown> {
  return new Promise((resolve, reject) => {
    // Jest's --experimental-vm-modules is of no use to the runner and only adds warnings.
    const env = { ...process.env, NODE_OPTIONS: '' };
    const child = spawn(process.execPath, [runnerPath()], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderrTail = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new SchemaEngineError(`schema engine ${request.command} timed out after ${timeoutMs} ms`, 'TIMEOUT'));
    }, timeoutMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderrTail = (stderrTail + chunk).slice(-STDERR_TAIL_CHARS_MAX);
    });
    child.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      const lastLine = stdout.trim().split('\n').pop() ?? '';
      let reply: { ok: boolean; result?: unknown; error?: { message: string; code?: string } };
      try {
        reply = JSON.parse(lastLine) as typeof reply;
      } catch {
        reject(new SchemaEngineError(`schema engine ${request.command} exited ${exitCode} without a reply; stderr: ${stderrTail}`, undefined));
        return;
      }
      if (reply.ok) resolve(reply.result);
      else reject(new SchemaEngineError(reply.error?.message ?? 'unknown schema engine failure', reply.error?.code));
    });
    child.stdin.end(JSON.stringify(request));
  });
}

function assertStringArray(value: unknown, what: string): string[] {
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw new SchemaEngineError(`schema engine returned no ${what}`, undefined);
  }
  return value;
}

function sqlOf(result: unknown): string {
  const sql = (result as { sql?: unknown } | null)?.sql;
  if (typeof sql !== 'string') throw new SchemaEngineError('schema engine returned no SQL', undefined);
  return sql;
}

/** `prisma migrate deploy`: refuses edited or failed migrations, then applies the pending ones. */
export async function engineApplyMigrations(databaseUrl: string, migrationsDir: string): Promise<string[]> {
  const result = await callRunner({ command: 'applyMigrations', databaseUrl, migrationsDir });
  return assertStringArray((result as { applied?: unknown } | null)?.applied, 'applied migration names');
}

/** `prisma migrate diff --from-empty --to-schema <schemaPath> --script`. */
export async function engineDiffEmptyToSchema(databaseUrl: string, schemaPath: string): Promise<string> {
  return sqlOf(await callRunner({ command: 'diffEmptyToSchema', databaseUrl, schemaPath }));
}

/**
 * `prisma migrate diff --from-migrations <dir> --to-schema <schemaPath> --script`. The engine
 * replays the migrations into `scratchDatabaseUrl`: pass an empty throw-away database.
 */
export async function engineDiffMigrationsToSchema(
  scratchDatabaseUrl: string,
  migrationsDir: string,
  schemaPath: string,
): Promise<string> {
  return sqlOf(await callRunner({ command: 'diffMigrationsToSchema', databaseUrl: scratchDatabaseUrl, migrationsDir, schemaPath }));
}

/** What the engine prints when two schemas do not differ. */
export function isEmptyMigrationSql(sql: string): boolean {
  const meaningful = sql
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !line.startsWith('--'));
  return meaningful.length === 0;
}
