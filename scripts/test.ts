// npm test: checks PostgreSQL and RabbitMQ, builds, typechecks and lints every workspace, then
//   1. every workspace's own tests (pure domain tests and integration tests against the real
//      PostgreSQL, RabbitMQ and simulator), in parallel;
//   2. the black-box end-to-end suite, one file at a time: it starts the whole platform once, and
//      its files inject faults into the one shared PSP simulator, so they must not overlap;
//      after it, the ops audit through the gateway must be clean;
// and prints a closing "N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureInfrastructure } from './lib/infrastructure';
import { REPO_ROOT } from './lib/platform';

const UNIT_PROJECTS = ['shared', 'gateway', 'payments', 'ledger', 'wallet', 'payouts', 'psp-simulator'];

function log(line: string): void {
  process.stderr.write(`[test] ${line}\n`);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): number {
  const result = spawnSync(command, args, { cwd: REPO_ROOT, stdio: 'inherit', env });
  return result.status ?? 1;
}

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}

function runJest(label: string, args: string[], env: NodeJS.ProcessEnv, outputDir: string): Counts {
  const outputFile = join(outputDir, `${label}.json`);
  log(`jest: ${label}`);
  const status = run(process.execPath, [join(REPO_ROOT, 'node_modules/jest/bin/jest.js'), '--json', `--outputFile=${outputFile}`, ...args], env);
  const counts: Counts = { passed: 0, failed: 0, skipped: 0 };
  if (existsSync(outputFile)) {
    const results = JSON.parse(readFileSync(outputFile, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numRuntimeErrorTestSuites: number };
    counts.passed = results.numPassedTests;
    counts.failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    counts.skipped = results.numPendingTests;
  }
  if (status !== 0 && counts.failed === 0) {
    log(`jest (${label}) failed outside the tests (global setup or teardown)`);
    counts.failed = 1;
  }
  return counts;
}

async function main(): Promise<void> {
  const problem = await ensureInfrastructure(process.env, log, false);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
  const skipChecks = process.argv.includes('--no-checks');
  const patterns = process.argv.slice(2).filter((arg) => arg !== '--no-checks');
  const tasks = skipChecks ? ['build'] : ['build', 'typecheck', 'lint'];
  const quietTurbo = { ...process.env, TURBO_TELEMETRY_DISABLED: '1' };
  log(`turbo run ${tasks.join(' ')}`);
  if (run('npx', ['turbo', 'run', ...tasks, '--output-logs=errors-only'], quietTurbo) !== 0) {
    log('build, typecheck or lint failed');
    process.exit(1);
  }

  const outputDir = mkdtempSync(join(tmpdir(), 'clearhouse-jest-'));
  const auditFile = join(outputDir, 'final-audit.json');
  const env = {
    ...quietTurbo,
    E2E_AUDIT_RESULT_FILE: auditFile,
    NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --no-warnings=ExperimentalWarning`.trim(),
  };
  const unit = runJest('workspaces', ['--maxWorkers=2', '--passWithNoTests', '--selectProjects', ...UNIT_PROJECTS, '--', ...patterns], env, outputDir);
  const e2e = runJest('e2e', ['--runInBand', '--passWithNoTests', '--selectProjects', 'e2e', '--', ...patterns], env, outputDir);
  let auditFailed = 0;
  if (existsSync(auditFile)) {
    const audit = JSON.parse(readFileSync(auditFile, 'utf8')) as { ok: boolean; summary: string };
    log(audit.summary);
    if (!audit.ok) auditFailed = 1;
  }
  rmSync(outputDir, { recursive: true, force: true });
  const passed = unit.passed + e2e.passed;
  const failed = unit.failed + e2e.failed + auditFailed;
  const skipped = unit.skipped + e2e.skipped;
  process.stdout.write(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(failed > 0 ? 1 : 0);
}

void main();
