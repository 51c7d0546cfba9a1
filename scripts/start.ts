// npm start: checks PostgreSQL and RabbitMQ (Docker Compose if needed), builds, prepares every
// database, then runs the whole platform in the foreground until Ctrl-C.
import { spawnSync } from 'node:child_process';
import { ensureInfrastructure } from './lib/infrastructure';
import { DEFAULT_PORTS, REPO_ROOT, startPlatform, type PlatformPorts } from './lib/platform';

function log(line: string): void {
  process.stderr.write(`[clearhouse] ${line}\n`);
}

function portsFromEnv(env: NodeJS.ProcessEnv): PlatformPorts {
  const pick = (name: string, fallback: number) => (env[name] ? Number(env[name]) : fallback);
  return {
    gateway: pick('GATEWAY_PORT', DEFAULT_PORTS.gateway),
    payments: pick('PAYMENTS_PORT', DEFAULT_PORTS.payments),
    ledger: pick('LEDGER_PORT', DEFAULT_PORTS.ledger),
    wallet: pick('WALLET_PORT', DEFAULT_PORTS.wallet),
    payouts: pick('PAYOUTS_PORT', DEFAULT_PORTS.payouts),
    psp: pick('PSP_PORT', DEFAULT_PORTS.psp),
  };
}

/** How often start-up checks whether it was orphaned (see watchParent). */
const PARENT_CHECK_INTERVAL_MS = 500;

/**
 * npm runs this script through `sh -c`; on Debian and Ubuntu that shell (dash) stays between npm
 * and node, and a SIGTERM sent to `npm start` (kill, a supervisor, `docker stop`) ends npm and the
 * shell but never reaches this process, which would keep the whole platform running. Losing the
 * parent is therefore treated like SIGTERM.
 */
function watchParent(onOrphaned: () => void): void {
  const parentPid = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid !== parentPid) {
      clearInterval(timer);
      onOrphaned();
    }
  }, PARENT_CHECK_INTERVAL_MS);
  timer.unref();
}

async function main(): Promise<void> {
  const env = process.env;
  let platformStop: (() => Promise<void>) | null = null;
  let platformStarting: Promise<unknown> | null = null;
  const stopRequested = new AbortController();
  let shuttingDown = false;
  const shutdown = async (reason: string, exitCode = 0) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`${reason}: shutting down gracefully...`);
    stopRequested.abort();
    // Still starting: startPlatform stops the services it already spawned, then rejects.
    if (platformStop) await platformStop();
    else if (platformStarting) await platformStarting.catch(() => undefined);
    log('stopped');
    process.exit(exitCode);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
  watchParent(() => void shutdown('npm exited (SIGTERM?)'));

  const problem = await ensureInfrastructure(env, log, true);
  if (problem) {
    process.stderr.write(`${problem}\n`);
    process.exit(1);
  }
  log('building...');
  const build = spawnSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: REPO_ROOT, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } });
  if (build.status !== 0) {
    log('build failed');
    process.exit(1);
  }
  log('preparing databases...');
  // Loaded after the build: it uses the compiled shared library.
  const { prepareAllDatabases } = await import('./lib/databases.js');
  await prepareAllDatabases(env, log);

  const ports = portsFromEnv(env);
  if (shuttingDown) return;
  const starting = startPlatform({
    env,
    ports,
    stdio: 'inherit',
    onExit: (service, code, signal) => {
      if (shuttingDown) return;
      log(`${service} exited unexpectedly (code ${code}, signal ${signal}); stopping everything`);
      void shutdown('service exit', 1);
    },
    stopSignal: stopRequested.signal,
  });
  platformStarting = starting;
  let platform: Awaited<typeof starting>;
  try {
    platform = await starting;
  } catch (error) {
    if (shuttingDown) return; // shutdown() waits for this and exits
    throw error;
  }
  platformStop = platform.stop;
  const production = env.NODE_ENV === 'production';
  const banner = [
    '',
    'Clearhouse is running.',
    `  GraphQL API and Apollo Sandbox: http://localhost:${ports.gateway}/graphql${production ? ' (Sandbox off in production)' : ''}`,
    `  Subscriptions (graphql-ws):      ws://localhost:${ports.gateway}/graphql`,
    `  PSP simulator:                   http://localhost:${ports.psp}`,
    `  RabbitMQ management UI:          http://localhost:15672 (guest/guest in development)`,
  ];
  if (!production) {
    banner.push(
      '  API keys (send Authorization: Bearer <key>):',
      `    platform: ${env.CLEARHOUSE_PLATFORM_KEY ?? 'dev_platform_key'}`,
      `    ops:      ${env.CLEARHOUSE_OPS_KEY ?? 'dev_ops_key'}`,
    );
  }
  banner.push('Press Ctrl-C to stop.', '');
  process.stderr.write(banner.join('\n') + '\n');
}

main().catch((error: unknown) => {
  process.stderr.write(`[clearhouse] failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
