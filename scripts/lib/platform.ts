// Starts the whole platform as child processes (PSP simulator, four subgraphs, gateway) from
// their compiled entry points, waits until the gateway reports ready, and stops everything
// gracefully. Used by `npm start`, the end-to-end test suite and the benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { PAYMENTS_WEBHOOK_EVENTS } from '../../subgraphs/payments/src/psp/webhook-events';
import { freePort } from '../../shared/src/testkit/ports';

export { freePort };

export const REPO_ROOT = join(__dirname, '..', '..');

export interface PlatformPorts {
  gateway: number;
  payments: number;
  ledger: number;
  wallet: number;
  payouts: number;
  psp: number;
}

export const DEFAULT_PORTS: PlatformPorts = { gateway: 4000, payments: 4001, ledger: 4002, wallet: 4003, payouts: 4004, psp: 4010 };

export interface PlatformOptions {
  /** Environment shared by every service (POSTGRES_URL, AMQP_URL, prefixes, secrets...). */
  readonly env: Record<string, string | undefined>;
  readonly ports: PlatformPorts;
  /** 'inherit' streams every service's JSON logs to this process; 'ignore' or a file for tests. */
  readonly stdio: 'inherit' | 'ignore' | number;
  readonly readyTimeoutMs?: number;
  readonly onExit?: (service: string, code: number | null, signal: NodeJS.Signals | null) => void;
  /**
   * Aborted (e.g. Ctrl-C during start-up): stop waiting for readiness, stop every service already
   * spawned, and reject. Without it the caller has nothing to stop until the platform is ready.
   */
  readonly stopSignal?: AbortSignal;
}

export interface PlatformUrls {
  readonly gateway: string;
  readonly gatewayWs: string;
  readonly payments: string;
  readonly ledger: string;
  readonly wallet: string;
  readonly payouts: string;
  readonly psp: string;
}

export interface RunningPlatform {
  readonly urls: PlatformUrls;
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

interface ServiceSpec {
  readonly name: string;
  readonly entry: string;
  readonly healthUrl: string;
}

export function platformUrls(ports: PlatformPorts): PlatformUrls {
  const base = (port: number) => `http://127.0.0.1:${port}`;
  return {
    gateway: `${base(ports.gateway)}/graphql`,
    gatewayWs: `ws://127.0.0.1:${ports.gateway}/graphql`,
    payments: `${base(ports.payments)}/graphql`,
    ledger: `${base(ports.ledger)}/graphql`,
    wallet: `${base(ports.wallet)}/graphql`,
    payouts: `${base(ports.payouts)}/graphql`,
    psp: base(ports.psp),
  };
}

/**
 * The server URL with its path replaced by the database, its query kept (so a Unix-socket server
 * URL such as `postgresql://postgres@localhost?host=/var/run/postgresql` works). Same rule as the
 * shared databaseUrlOnServer, which this file cannot import: `npm start` loads it before the build.
 */
function databaseOnServer(postgresServerUrl: string, databaseName: string): string {
  const url = new URL(postgresServerUrl);
  url.pathname = `/${databaseName}`;
  return url.toString();
}

/** The environment each service needs to find the others, derived from the ports. */
export function platformEnv(base: Record<string, string | undefined>, ports: PlatformPorts): Record<string, string> {
  const urls = platformUrls(ports);
  const postgresUrl = base.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
  const prefix = base.DATABASE_PREFIX ?? 'clearhouse';
  const derived: Record<string, string> = {
    GATEWAY_PORT: String(ports.gateway),
    PAYMENTS_PORT: String(ports.payments),
    LEDGER_PORT: String(ports.ledger),
    WALLET_PORT: String(ports.wallet),
    PAYOUTS_PORT: String(ports.payouts),
    PSP_PORT: String(ports.psp),
    PAYMENTS_URL: urls.payments,
    LEDGER_URL: urls.ledger,
    WALLET_URL: urls.wallet,
    WALLET_INTERNAL_URL: `http://127.0.0.1:${ports.wallet}`,
    PAYOUTS_URL: urls.payouts,
    STRIPE_API_BASE: urls.psp,
    PSP_PUBLIC_URL: `http://localhost:${ports.psp}`,
    PSP_WEBHOOK_URL: `http://127.0.0.1:${ports.payments}/webhooks/stripe`,
    PSP_DATABASE_URL: databaseOnServer(postgresUrl, `${prefix}_psp`),
  };
  const defaults: Record<string, string> = {
    // The simulator's endpoint gets what payments needs, like a Stripe endpoint's enabled_events.
    PSP_WEBHOOK_EVENTS: PAYMENTS_WEBHOOK_EVENTS.join(','),
  };
  const merged: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...defaults, ...derived, ...base })) if (value !== undefined) merged[key] = value;
  // Ports and the URLs derived from them always follow `ports`, whatever the base says.
  return { ...merged, ...derived, ...(base.PSP_PUBLIC_URL ? { PSP_PUBLIC_URL: base.PSP_PUBLIC_URL } : {}) };
}

function services(ports: PlatformPorts): ServiceSpec[] {
  const health = (port: number) => `http://127.0.0.1:${port}/readyz`;
  return [
    { name: 'psp-simulator', entry: 'psp-simulator/dist/main.js', healthUrl: health(ports.psp) },
    { name: 'payments', entry: 'subgraphs/payments/dist/main.js', healthUrl: health(ports.payments) },
    { name: 'ledger', entry: 'subgraphs/ledger/dist/main.js', healthUrl: health(ports.ledger) },
    { name: 'wallet', entry: 'subgraphs/wallet/dist/main.js', healthUrl: health(ports.wallet) },
    { name: 'payouts', entry: 'subgraphs/payouts/dist/main.js', healthUrl: health(ports.payouts) },
    { name: 'gateway', entry: 'gateway/dist/main.js', healthUrl: health(ports.gateway) },
  ];
}

export async function freePorts(): Promise<PlatformPorts> {
  return { gateway: await freePort(), payments: await freePort(), ledger: await freePort(), wallet: await freePort(), payouts: await freePort(), psp: await freePort() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitReady(url: string, deadlineMs: number, exited: () => string | null, stopSignal: AbortSignal | undefined): Promise<void> {
  for (let attempt = 0; Date.now() < deadlineMs; attempt += 1) {
    if (stopSignal?.aborted) throw new Error('stopped while the platform was starting');
    const dead = exited();
    if (dead) throw new Error(`${dead} exited before the platform was ready`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(1_000) });
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(Math.min(100 * 2 ** Math.min(attempt, 3), 500));
  }
  throw new Error(`${url} did not become ready in time`);
}

function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

export async function startPlatform(options: PlatformOptions): Promise<RunningPlatform> {
  if (options.stopSignal?.aborted) throw new Error('stopped before the platform was started');
  const env = platformEnv(options.env, options.ports);
  const specs = services(options.ports);
  const children = new Map<string, ChildProcess>();
  let stopping = false;
  let firstDeath: string | null = null;

  for (const spec of specs) {
    const child = spawn(process.execPath, [join(REPO_ROOT, spec.entry)], {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', options.stdio, options.stdio],
    });
    child.once('exit', (code, signal) => {
      if (!stopping && !firstDeath) firstDeath = spec.name;
      options.onExit?.(spec.name, code, signal);
    });
    children.set(spec.name, child);
  }

  const stop = async () => {
    stopping = true;
    // Gateway first (stop taking requests), then the subgraphs, then the simulator.
    const gateway = children.get('gateway');
    if (gateway) await stopChild(gateway, 15_000);
    await Promise.all(specs.filter((s) => s.name !== 'gateway' && s.name !== 'psp-simulator').map((s) => stopChild(children.get(s.name)!, 15_000)));
    const psp = children.get('psp-simulator');
    if (psp) await stopChild(psp, 15_000);
  };

  const deadlineMs = Date.now() + (options.readyTimeoutMs ?? 90_000);
  try {
    for (const spec of specs) await waitReady(spec.healthUrl, deadlineMs, () => firstDeath, options.stopSignal);
  } catch (error) {
    await stop();
    throw error;
  }
  return { urls: platformUrls(options.ports), env, stop };
}
