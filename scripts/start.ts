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

async function main(): Promise<void> {
  const env = process.env;
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
  let platformStop: (() => Promise<void>) | null = null;
  let shuttingDown = false;
  const shutdown = async (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    log(`${signal}: shutting down gracefully...`);
    if (platformStop) await platformStop();
    log('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));

  const platform = await startPlatform({
    env,
    ports,
    stdio: 'inherit',
    onExit: (service, code, signal) => {
      if (shuttingDown) return;
      log(`${service} exited unexpectedly (code ${code}, signal ${signal}); stopping everything`);
      void shutdown('service exit').then(() => process.exit(1));
    },
  });
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
