// npm test: checks PostgreSQL and RabbitMQ, builds, typechecks and lints every workspace, then runs
// one Jest run over every workspace's tests and the black-box end-to-end suite, and prints a
// closing "N passed, N failed" line.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureInfrastructure } from './lib/infrastructure';
import { REPO_ROOT } from './lib/platform';

function log(line: string): void {
  process.stderr.write(`[test] ${line}\n`);
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv = process.env): number {
  const result = spawnSync(command, args, { cwd: REPO_ROOT, stdio: 'inherit', env });
  return result.status ?? 1;
}

async function main(): Promise<void> {
  const problem = await ensureInfrastructure(process.env, log, false);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
  const skipChecks = process.argv.includes('--no-checks');
  const jestArgs = process.argv.slice(2).filter((arg) => arg !== '--no-checks');
  const tasks = skipChecks ? ['build'] : ['build', 'typecheck', 'lint'];
  log(`turbo run ${tasks.join(' ')}`);
  if (run('npx', ['turbo', 'run', ...tasks, '--output-logs=errors-only']) !== 0) {
    log('build, typecheck or lint failed');
    process.exit(1);
  }
  const outputDir = mkdtempSync(join(tmpdir(), 'clearhouse-jest-'));
  const outputFile = join(outputDir, 'results.json');
  const env = { ...process.env, NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --experimental-vm-modules --no-warnings=ExperimentalWarning`.trim() };
  const status = run(process.execPath, [join(REPO_ROOT, 'node_modules/jest/bin/jest.js'), '--maxWorkers=2', '--json', `--outputFile=${outputFile}`, ...jestArgs], env);
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  if (existsSync(outputFile)) {
    const results = JSON.parse(readFileSync(outputFile, 'utf8')) as { numPassedTests: number; numFailedTests: number; numPendingTests: number; numRuntimeErrorTestSuites: number };
    passed = results.numPassedTests;
    failed = results.numFailedTests + results.numRuntimeErrorTestSuites;
    skipped = results.numPendingTests;
  } else {
    failed = 1;
  }
  rmSync(outputDir, { recursive: true, force: true });
  process.stdout.write(`\ntests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  process.exit(status !== 0 || failed > 0 ? 1 : 0);
}

void main();
