// `npm start` as a user runs it (CONTRACT.md "Set-up and the two commands"): SIGINT or SIGTERM
// shuts everything down — whichever process gets the signal, and whenever it comes. Its own ports,
// databases (`clearhouse_test_start_<hex>_*`) and broker prefix, so it runs beside the suite's
// platform. Every process it starts lives in one session (spawned detached), which the test watches.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { deleteBrokerObjects } from '@clearhouse/shared/testkit';
import { dropAllDatabases } from '../../scripts/lib/databases';
import { freePorts, REPO_ROOT, type PlatformPorts } from '../../scripts/lib/platform';

jest.setTimeout(420_000);

const STARTED_WITHIN_MS = 300_000;
const STOPPED_WITHIN_MS = 60_000;

interface Started {
  readonly child: ChildProcess;
  readonly ports: PlatformPorts;
  stderr(): string;
}

const runs: { sessionId: number; env: Record<string, string> }[] = [];

/** `<pid> <command line>` of every process in the session (the npm process started it). */
function sessionProcesses(sessionId: number): string[] {
  try {
    return execFileSync('ps', ['-o', 'pid=,args=', '--sid', String(sessionId)], { encoding: 'utf8' }).split('\n').map((line) => line.trim()).filter(Boolean);
  } catch {
    return []; // ps exits 1 when nothing matches
  }
}

async function until(what: string, probe: () => boolean | Promise<boolean>, timeoutMs: number, detail: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out waiting for ${what}:\n${detail()}`);
}

async function npmStart(): Promise<Started> {
  const ports = await freePorts();
  const runId = randomBytes(4).toString('hex');
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_OPTIONS: '',
    NODE_ENV: 'test',
    LOG_LEVEL: 'warn',
    CLEARHOUSE_NO_DOCKER: '1',
    DATABASE_PREFIX: `clearhouse_test_start_${runId}`,
    BROKER_PREFIX: `t_start_${runId}`,
    GATEWAY_PORT: String(ports.gateway),
    PAYMENTS_PORT: String(ports.payments),
    LEDGER_PORT: String(ports.ledger),
    WALLET_PORT: String(ports.wallet),
    PAYOUTS_PORT: String(ports.payouts),
    PSP_PORT: String(ports.psp),
    RECONCILIATION_ENABLED: 'false',
  };
  delete env.E2E_PLATFORM;
  const child = spawn('npm', ['start'], { cwd: REPO_ROOT, env, detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  runs.push({ sessionId: child.pid!, env });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr = `${stderr}${chunk.toString('utf8')}`.slice(-20_000);
  });
  return { child, ports, stderr: () => stderr };
}

async function expectEverythingStopped(started: Started): Promise<void> {
  const sessionId = started.child.pid!;
  await until('every process of npm start to exit', () => sessionProcesses(sessionId).length === 0, STOPPED_WITHIN_MS, () => `${sessionProcesses(sessionId).join('\n')}\n--- stderr:\n${started.stderr().slice(-3_000)}`);
  const answering: number[] = [];
  for (const port of Object.values(started.ports)) {
    const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) }).catch(() => null);
    if (response) answering.push(port);
  }
  expect(answering).toEqual([]);
}

afterAll(async () => {
  for (const run of runs) {
    // Whatever a failed test left behind is this file's own session: end it.
    for (const line of sessionProcesses(run.sessionId)) {
      try {
        process.kill(Number(line.split(' ')[0]), 'SIGKILL');
      } catch {
        // already gone
      }
    }
    await dropAllDatabases(run.env);
    await deleteBrokerObjects(run.env.BROKER_PREFIX!, run.env.AMQP_URL);
  }
});

test('SIGTERM to the npm process stops the whole platform, as Ctrl-C does', async () => {
  const started = await npmStart();
  await until('the start banner', () => started.stderr().includes('Clearhouse is running.'), STARTED_WITHIN_MS, () => started.stderr().slice(-3_000));
  expect((await fetch(`http://127.0.0.1:${started.ports.gateway}/readyz`)).status).toBe(200);
  expect(sessionProcesses(started.child.pid!).filter((line) => line.includes('/dist/main.js'))).toHaveLength(6);

  process.kill(started.child.pid!, 'SIGTERM');
  await expectEverythingStopped(started);
  expect(started.stderr()).toContain('[clearhouse] stopped');
});

test('SIGTERM while the services are still starting stops the ones already started', async () => {
  const started = await npmStart();
  const sessionId = started.child.pid!;
  await until('the services to be spawned', () => sessionProcesses(sessionId).some((line) => line.includes('gateway/dist/main.js')), STARTED_WITHIN_MS, () => started.stderr().slice(-3_000));
  expect(started.stderr()).not.toContain('Clearhouse is running.');
  const startScript = sessionProcesses(sessionId).find((line) => /^\d+ node .*scripts\/start\.ts/.test(line));
  expect(startScript).toBeDefined();

  process.kill(Number(startScript!.split(' ')[0]), 'SIGTERM');
  await expectEverythingStopped(started);
});

test('a service that dies stops the platform, and npm start exits non-zero', async () => {
  const started = await npmStart();
  const sessionId = started.child.pid!;
  const exited = new Promise<number | null>((resolve) => started.child.once('exit', (code) => resolve(code)));
  await until('the start banner', () => started.stderr().includes('Clearhouse is running.'), STARTED_WITHIN_MS, () => started.stderr().slice(-3_000));
  const ledger = sessionProcesses(sessionId).find((line) => line.includes('subgraphs/ledger/dist/main.js'));
  expect(ledger).toBeDefined();

  process.kill(Number(ledger!.split(' ')[0]), 'SIGKILL');
  await expectEverythingStopped(started);
  expect(started.stderr()).toContain('ledger exited unexpectedly');
  expect(await exited).not.toBe(0);
});
