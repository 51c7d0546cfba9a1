// The platform under test: started here (built with turbo, own databases `clearhouse_bench_<id>_*`,
// broker prefix `b_<id>`, free ports, logs to a file) or an already running one (BENCH_GATEWAY_URL).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { Connection } from 'rabbitmq-client';
import { freePort, freePorts, platformEnv, REPO_ROOT, startPlatform, type RunningPlatform } from '../lib/platform';
import { say } from './progress';

export interface BenchTarget {
  readonly runId: string;
  readonly runDir: string;
  /** True when this process started the platform (and may drop its databases). */
  readonly owned: boolean;
  readonly gatewayUrl: string;
  readonly paymentsUrl: string;
  readonly ledgerUrl: string;
  /** Each subgraph's GraphQL URL by name (their GET /metrics feed the broker message counts). */
  readonly subgraphUrls: Readonly<Record<string, string>>;
  readonly pspUrl: string;
  readonly platformKey: string;
  readonly opsKey: string;
  readonly signingSecret: string;
  /** Every variable the services got (or, for an external platform, what we know of it). */
  readonly env: Record<string, string>;
  readonly logFile: string | null;
  stop(): Promise<void>;
}

export interface TargetOptions {
  readonly runId: string;
  readonly runDir: string;
  readonly build: boolean;
  readonly keep: boolean;
  readonly logLevel: string;
  /** Extra variables for every service (e.g. DB_POOL_MAX, NODE_OPTIONS for --cpu-prof). */
  readonly serviceEnv: Record<string, string>;
}

export function build(): void {
  say('building (npx turbo run build)...');
  const result = spawnSync('npx', ['turbo', 'run', 'build', '--output-logs=errors-only'], { cwd: REPO_ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
  if (result.status !== 0) throw new Error('the build failed (another change may be in progress; retry in a few minutes)');
}

/** The environment a bench platform (or the isolated ledger of scenario c) runs with. */
export function benchEnv(runId: string, databasePrefix: string, brokerPrefix: string, options: TargetOptions): Record<string, string | undefined> {
  return {
    ...process.env,
    NODE_ENV: 'development',
    LOG_LEVEL: options.logLevel,
    DATABASE_PREFIX: databasePrefix,
    BROKER_PREFIX: brokerPrefix,
    INTERNAL_SIGNING_SECRET: `bench-signing-secret-${runId}`,
    CLEARHOUSE_PLATFORM_KEY: `bench_platform_${runId}`,
    CLEARHOUSE_OPS_KEY: `bench_ops_${runId}`,
    // One API key drives all the load; the default 500/s per key would cap the open-loop phases.
    RATE_LIMIT_PER_SECOND: '1000000',
    // Velocity rules: each checkout has its own buyer anyway; keep the default amount cap.
    RISK_BUYER_PAYMENTS_PER_WINDOW_MAX: '1000000',
    ...options.serviceEnv,
  };
}

export async function dropDatabases(env: Record<string, string | undefined>): Promise<void> {
  const { dropAllDatabases } = await import('../lib/databases.js');
  await dropAllDatabases(env);
}

export async function prepareDatabases(env: Record<string, string | undefined>): Promise<void> {
  const { prepareAllDatabases } = await import('../lib/databases.js');
  await prepareAllDatabases(env, () => undefined);
}

/** Deletes the queues and the events exchange of a broker prefix (bench prefixes only). */
export async function deleteBrokerObjects(amqpUrl: string, prefix: string): Promise<number> {
  if (!/^b_[a-z0-9_]+$/.test(prefix)) throw new Error(`refusing to delete broker objects of prefix ${prefix}`);
  const managementUrl = process.env.RABBITMQ_MANAGEMENT_URL ?? 'http://guest:guest@127.0.0.1:15672';
  const { listQueueNames } = await import('@clearhouse/shared');
  let queues: string[] = [];
  try {
    queues = await listQueueNames({ managementUrl, prefix, timeoutMs: 5000 });
  } catch (error) {
    // Queue names are only listed by the management API; without it the run's queues stay behind.
    console.error(`[bench] could not list the queues of ${prefix} (${(error as Error).message}); they stay behind: enable rabbitmq_management (or set RABBITMQ_MANAGEMENT_URL) and delete the queues named ${prefix}.*`);
    return 0;
  }
  const connection = new Connection({ url: amqpUrl, connectionName: `${prefix}.bench-cleanup` });
  connection.on('error', () => undefined);
  try {
    await connection.onConnect(10_000);
    for (const queue of queues.filter((name) => name.startsWith(`${prefix}.`))) await connection.queueDelete({ queue });
    await connection.exchangeDelete({ exchange: `${prefix}.events` }).catch(() => undefined);
  } finally {
    await connection.close();
  }
  return queues.length;
}

export async function openTarget(options: TargetOptions): Promise<BenchTarget> {
  const external = process.env.BENCH_GATEWAY_URL;
  if (external) {
    const gatewayUrl = external;
    const host = new URL(gatewayUrl).hostname;
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
    return {
      runId: options.runId,
      runDir: options.runDir,
      owned: false,
      gatewayUrl,
      paymentsUrl: process.env.BENCH_PAYMENTS_URL ?? process.env.PAYMENTS_URL ?? `http://${host}:4001/graphql`,
      ledgerUrl: process.env.BENCH_LEDGER_URL ?? process.env.LEDGER_URL ?? `http://${host}:4002/graphql`,
      subgraphUrls: {
        payments: process.env.BENCH_PAYMENTS_URL ?? process.env.PAYMENTS_URL ?? `http://${host}:4001/graphql`,
        ledger: process.env.BENCH_LEDGER_URL ?? process.env.LEDGER_URL ?? `http://${host}:4002/graphql`,
        wallet: process.env.BENCH_WALLET_URL ?? process.env.WALLET_URL ?? `http://${host}:4003/graphql`,
        payouts: process.env.BENCH_PAYOUTS_URL ?? process.env.PAYOUTS_URL ?? `http://${host}:4004/graphql`,
      },
      pspUrl: process.env.BENCH_PSP_URL ?? `http://${host}:4010`,
      platformKey: process.env.CLEARHOUSE_PLATFORM_KEY ?? 'dev_platform_key',
      opsKey: process.env.CLEARHOUSE_OPS_KEY ?? 'dev_ops_key',
      signingSecret: process.env.INTERNAL_SIGNING_SECRET ?? 'dev-internal-signing-secret-change-me',
      env,
      logFile: null,
      stop: async () => undefined,
    };
  }

  const env = benchEnv(options.runId, `clearhouse_bench_${options.runId}`, `b_${options.runId}`, options);
  say(`preparing databases clearhouse_bench_${options.runId}_* ...`);
  await prepareDatabases(env);
  const logFile = join(options.runDir, 'platform.log');
  const logFd = openSync(logFile, 'a');
  const ports = await freePorts();
  say(`starting the platform (gateway :${ports.gateway}, logs in ${logFile}) ...`);
  let platform: RunningPlatform;
  const deaths: string[] = [];
  try {
    platform = await startPlatform({
      env,
      ports,
      stdio: logFd,
      readyTimeoutMs: 120_000,
      onExit: (service, code, signal) => deaths.push(`${service} (code ${code}, signal ${signal})`),
    });
  } catch (error) {
    closeSync(logFd);
    if (!options.keep) {
      await dropDatabases(env).catch(() => undefined);
      await deleteBrokerObjects(env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', `b_${options.runId}`).catch(() => undefined);
    }
    throw error;
  }
  const urls = platform.urls;
  return {
    runId: options.runId,
    runDir: options.runDir,
    owned: true,
    gatewayUrl: urls.gateway,
    paymentsUrl: urls.payments,
    ledgerUrl: urls.ledger,
    subgraphUrls: { payments: urls.payments, ledger: urls.ledger, wallet: urls.wallet, payouts: urls.payouts },
    pspUrl: urls.psp,
    platformKey: platform.env.CLEARHOUSE_PLATFORM_KEY!,
    opsKey: platform.env.CLEARHOUSE_OPS_KEY!,
    signingSecret: platform.env.INTERNAL_SIGNING_SECRET!,
    env: platform.env,
    logFile,
    stop: async () => {
      say('stopping the platform ...');
      await platform.stop();
      closeSync(logFd);
      if (deaths.length > 0) say(`services that exited: ${deaths.join(', ')}`);
      if (!options.keep) {
        await dropDatabases(platform.env).catch((error: unknown) => say(`dropping databases failed: ${String(error)}`));
        await deleteBrokerObjects(platform.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672', `b_${options.runId}`).catch((error: unknown) =>
          say(`deleting broker queues failed: ${String(error)}`),
        );
      } else {
        say(`kept databases clearhouse_bench_${options.runId}_* and broker prefix b_${options.runId}`);
      }
    },
  };
}

/** One service process from its compiled entry (the isolated ledger of scenario c). */
export async function startService(
  name: string,
  entry: string,
  env: Record<string, string>,
  port: number,
  logFile: string,
): Promise<{ url: string; child: ChildProcess; stop(): Promise<void> }> {
  mkdirSync(join(logFile, '..'), { recursive: true });
  const fd = openSync(logFile, 'a');
  const child = spawn(process.execPath, [join(REPO_ROOT, entry)], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', fd, fd] });
  const base = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  let ready = false;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const response = await fetch(`${base}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (response.ok) {
        ready = true;
        break;
      }
    } catch {
      // not yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  const stop = () =>
    new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        closeSync(fd);
        return resolve();
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      child.once('exit', () => {
        clearTimeout(timer);
        closeSync(fd);
        resolve();
      });
      child.kill('SIGTERM');
    });
  if (!ready) {
    await stop();
    throw new Error(`${name} did not become ready (see ${logFile})`);
  }
  return { url: `${base}/graphql`, child, stop };
}

export { freePort, platformEnv };
