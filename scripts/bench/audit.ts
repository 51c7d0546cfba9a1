// After every run: the books must agree (no money lost or duplicated). Two independent views:
// the ops `audit` GraphQL query through the gateway (when the schema has it) and `npm run audit`
// with the bench platform's environment (its databases, broker prefix and simulator).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../lib/platform';
import { bearer, gql } from './graphql';
import type { BenchTarget } from './platform';
import { say } from './progress';

export interface AuditVerdict {
  readonly source: string;
  /** null: could not be run. */
  readonly passed: boolean | null;
  readonly detail: string;
}

interface TypeRef {
  kind: string;
  name: string | null;
  ofType: TypeRef | null;
}

const INTROSPECT = `query AuditShape {
  __schema { queryType { fields { name args { name type { kind name ofType { kind name ofType { kind name } } } } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}`;
const TYPE = `query T($name: String!) { __type(name: $name) { fields { name args { name } type { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }`;

function named(ref: TypeRef | null): TypeRef | null {
  let current = ref;
  while (current && current.kind !== 'OBJECT' && current.kind !== 'SCALAR' && current.kind !== 'ENUM') current = current.ofType;
  return current;
}

async function selection(target: BenchTarget, typeName: string, depth: number): Promise<string> {
  const response = await gql<{ __type: { fields: { name: string; args: { name: string }[]; type: TypeRef }[] } | null }>(target.gatewayUrl, TYPE, { name: typeName }, bearer(target.opsKey));
  const fields = response.data?.__type?.fields ?? [];
  const parts: string[] = [];
  for (const field of fields) {
    if (field.args.length > 0) continue;
    const inner = named(field.type);
    if (!inner) continue;
    if (inner.kind === 'OBJECT') {
      if (depth > 0 && inner.name) {
        const nested = await selection(target, inner.name, depth - 1);
        if (nested) parts.push(`${field.name} { ${nested} }`);
      }
    } else parts.push(field.name);
  }
  return parts.join(' ');
}

function verdictOf(value: unknown): boolean | null {
  if (!value || typeof value !== 'object') return null;
  const record = value as Record<string, unknown>;
  for (const key of ['ok', 'clean', 'passed', 'consistent', 'balanced']) if (typeof record[key] === 'boolean') return record[key] as boolean;
  if (typeof record.status === 'string') return /^(ok|clean|passed|pass)$/i.test(record.status);
  return null;
}

/** One line: scalar fields as key=value, lists as their length (non-empty problem lists in full, shortened). */
function summarizeAudit(value: unknown): string {
  if (!value || typeof value !== 'object') return JSON.stringify(value);
  const parts: string[] = [];
  for (const [key, field] of Object.entries(value as Record<string, unknown>)) {
    if (key === 'id' || key === 'generatedAt') continue;
    if (Array.isArray(field)) {
      const problems = /violation|drift|discrepanc|error|problem/i.test(key) && field.length > 0;
      parts.push(problems ? `${key}: ${JSON.stringify(field).slice(0, 400)}` : `${key}: ${field.length}`);
      if (key === 'currencies' || key === 'postingCounts') parts.push(`${key}=${JSON.stringify(field).slice(0, 400)}`);
    } else if (field === null || typeof field !== 'object') parts.push(`${key}=${String(field)}`);
  }
  return parts.join('; ');
}

export async function auditViaGraphQL(target: BenchTarget): Promise<AuditVerdict> {
  const shape = await gql<{ __schema: { queryType: { fields: { name: string; args: { name: string; type: TypeRef }[]; type: TypeRef }[] } } }>(target.gatewayUrl, INTROSPECT, {}, bearer(target.opsKey));
  const field = shape.data?.__schema.queryType.fields.find((candidate) => candidate.name === 'audit');
  if (!field) return { source: 'GraphQL audit (ops)', passed: null, detail: 'no `audit` field in the supergraph' };
  if (field.args.some((arg) => arg.type.kind === 'NON_NULL')) return { source: 'GraphQL audit (ops)', passed: null, detail: `audit has required arguments (${field.args.map((arg) => arg.name).join(', ')})` };
  const returned = named(field.type);
  const fields = returned?.kind === 'OBJECT' && returned.name ? await selection(target, returned.name, 2) : '';
  const response = await gql<{ audit: unknown }>(target.gatewayUrl, `query Audit { audit ${fields ? `{ ${fields} }` : ''} }`, {}, bearer(target.opsKey), 120_000);
  if (response.errors?.length || !response.data) return { source: 'GraphQL audit (ops)', passed: false, detail: `errors: ${JSON.stringify(response.errors).slice(0, 500)}` };
  const passed = verdictOf(response.data.audit);
  return { source: 'GraphQL audit (ops)', passed, detail: summarizeAudit(response.data.audit) };
}

export function auditViaNpm(target: BenchTarget, timeoutMs = 180_000): Promise<AuditVerdict> {
  if (!existsSync(join(REPO_ROOT, 'scripts', 'run-tool.mjs'))) return Promise.resolve({ source: 'npm run audit', passed: null, detail: 'scripts/run-tool.mjs does not exist yet' });
  return new Promise((resolve) => {
    const child = spawn('npm', ['run', '--silent', 'audit'], { cwd: REPO_ROOT, env: { ...process.env, ...target.env, LOG_LEVEL: 'warn' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const tail = output.trim().split('\n').slice(-25).join('\n');
      resolve({ source: 'npm run audit', passed: signal ? null : code === 0, detail: signal ? `timed out after ${timeoutMs} ms\n${tail}` : `exit code ${code}\n${tail}` });
    });
  });
}

export async function runAudits(target: BenchTarget): Promise<AuditVerdict[]> {
  say('auditing the books ...');
  const results: AuditVerdict[] = [];
  results.push(await auditViaGraphQL(target).catch((error: unknown) => ({ source: 'GraphQL audit (ops)', passed: null, detail: String(error) })));
  results.push(await auditViaNpm(target));
  return results;
}
