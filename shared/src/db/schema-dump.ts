// `pg_dump --schema-only`, normalized so that two databases with the same tables, columns,
// types, indexes and constraints compare equal however they got there (for tests).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const DUMP_BYTES_MAX = 64 * 1024 * 1024;
const DUMP_TIMEOUT_MS = 60_000;

export async function dumpSchema(databaseUrl: string): Promise<string> {
  const { stdout } = await execFileAsync(
    'pg_dump',
    ['--schema-only', '--no-owner', '--no-privileges', '--no-comments', `--dbname=${databaseUrl}`],
    { maxBuffer: DUMP_BYTES_MAX, timeout: DUMP_TIMEOUT_MS },
  );
  return stdout;
}

// Migrations may legitimately add what schema.prisma cannot express: functions, triggers
// (including constraint triggers, which pg_dump lists as TRIGGER), CHECK constraints, extended
// statistics and indexes on expressions. Those are left out of the comparison, as is Prisma's
// own bookkeeping table; everything the schema language does describe (tables, columns, types,
// defaults, keys, indexes on columns, foreign keys) counts.
const EXCLUDED_TYPES = new Set(['FUNCTION', 'PROCEDURE', 'AGGREGATE', 'TRIGGER', 'EVENT TRIGGER', 'STATISTICS']);
/** pg_dump writes an index whose first key is an expression as `USING btree ((expr))`. */
const EXPRESSION_INDEX = /\bUSING \w+ \(\(/;
const HEADER = /^-- Name: (.+?); Type: (.+?); Schema: (.*?); Owner: .*$/;
const BLOCKS_MAX = 100_000;

interface DumpBlock {
  type: string;
  name: string;
  body: string[];
}

/**
 * Not schema: pg_dump's SET lines (they sit before whichever object happens to come first) and
 * psql meta-commands such as `\restrict <random key>` (pg_dump 15.14+).
 */
function isSessionSetting(line: string): boolean {
  return line.startsWith('SET ') || line.startsWith('SELECT pg_catalog.set_config(') || line.startsWith('\\');
}

function splitBlocks(dump: string): DumpBlock[] {
  const blocks: DumpBlock[] = [];
  let current: DumpBlock | null = null;
  for (const line of dump.split('\n')) {
    const header = HEADER.exec(line);
    if (header) {
      if (blocks.length >= BLOCKS_MAX) throw new Error('schema dump has too many objects');
      current = { name: header[1] ?? '', type: header[2] ?? '', body: [] };
      blocks.push(current);
    } else if (current && line.trim() !== '' && !line.startsWith('--') && !isSessionSetting(line)) {
      current.body.push(line);
    }
  }
  return blocks;
}

/**
 * A column added by a later migration sits last in the table while the fresh schema puts it
 * where the model declares it; Prisma ignores column order, and so does this comparison. The
 * same holds for enum values appended with ALTER TYPE ... ADD VALUE.
 */
function sortListLines(block: DumpBlock): string[] {
  if (block.type !== 'TABLE' && block.type !== 'TYPE') return block.body;
  const open = block.body.findIndex((line) => line.trimEnd().endsWith('('));
  const close = block.body.findIndex((line, index) => index > open && /^\s*\)/.test(line));
  if (open < 0 || close < 0) return block.body;
  const items = block.body
    .slice(open + 1, close)
    .map((line) => line.trim().replace(/,$/, ''))
    .sort();
  return [...block.body.slice(0, open + 1), ...items, ...block.body.slice(close)];
}

const CHECK_CONSTRAINT_LINE = /^\s*(ALTER TABLE .*\s)?(ADD )?CONSTRAINT \S+ CHECK \(/;

function withoutCheckConstraints(block: DumpBlock): DumpBlock {
  if (block.type !== 'TABLE' && block.type !== 'CONSTRAINT') return block;
  const body = block.body.filter((line) => !CHECK_CONSTRAINT_LINE.test(line));
  // A table whose last column was followed only by CHECKs now ends with a dangling comma.
  return { ...block, body: body.map((line, i) => (/^\s*\)/.test(body[i + 1] ?? '') ? line.replace(/,$/, '') : line)) };
}

export function normalizeSchemaDump(dump: string): string {
  return splitBlocks(dump)
    .filter((block) => !EXCLUDED_TYPES.has(block.type))
    .filter((block) => !(block.type === 'INDEX' && block.body.some((line) => EXPRESSION_INDEX.test(line))))
    .map(withoutCheckConstraints)
    .filter((block) => !(block.type === 'CONSTRAINT' && block.body.every((line) => /^\s*(ALTER TABLE|;)/.test(line) || line.trim() === '')))
    .filter((block) => !block.name.split(' ').some((part) => part.startsWith('_prisma_migrations')))
    .map((block) => `-- ${block.type} ${block.name}\n${sortListLines(block).join('\n')}`)
    .sort()
    .join('\n\n');
}
