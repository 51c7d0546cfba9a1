// Composition root of the simulator: database → state loaded into memory → jobs re-armed →
// HTTP server. stop() closes in reverse order and leaves pending jobs stored for the next start.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'pg';
import pino, { type Logger } from 'pino';
import { handleAdmin } from './admin/admin.js';
import { IdempotencyKeys } from './api/idempotency.js';
import { handleApiRequest, type PipelineDeps } from './api/pipeline.js';
import { Clock } from './core/clock.js';
import { defaultRuntimeConfig, mergeRuntimeConfig, type RuntimeConfig } from './core/config.js';
import { EnabledEventTypes } from './core/enabledEvents.js';
import { EventBus } from './core/events.js';
import { FaultState } from './core/faults.js';
import { jobKinds } from './core/jobKinds.js';
import { JobScheduler } from './core/jobs.js';
import { RequestLog } from './core/requestLog.js';
import type { Sim } from './core/sim.js';
import { WebhookDispatcher } from './core/webhooks.js';
import { BodyTooLargeError, send, sendJson } from './http/io.js';
import { renderMetrics } from './http/metrics.js';
import { handlePayPage } from './pages/hosted.js';
import { expireWhenDue } from './resources/checkoutSessions.js';
import { createDisputeWhenDue } from './resources/disputes.js';
import { finishProcessing } from './resources/paymentFlow.js';
import { advancePayout } from './resources/payouts.js';
import { failRefund, settleRefund } from './resources/refunds.js';
import { createTables, ensureDatabase, loadTable } from './store/db.js';
import { Store } from './store/store.js';
import { WriteBehind } from './store/writeBehind.js';

export interface SimulatorOptions {
  /** 0 = an ephemeral port. Default 4010. */
  port?: number;
  /** Default 127.0.0.1 (main.ts uses 0.0.0.0). */
  host?: string;
  /** Base of hosted page URLs; default http://localhost:<bound port>. */
  publicUrl?: string;
  webhookUrl?: string;
  /**
   * Event types sent to webhookUrl, like a Stripe endpoint's enabled_events: `*` (all, the
   * default), exact types or trailing wildcards (`payment_intent.*`). Other events are still
   * created and listed, with pending_webhooks 0. Invalid patterns make startSimulator throw.
   */
  webhookEvents?: readonly string[];
  webhookSecret?: string;
  databaseUrl?: string;
  /** Fees and delays (see RuntimeConfig); changeable later with POST /__admin/config. */
  config?: Partial<RuntimeConfig>;
  logger?: Logger;
  logLevel?: string;
}

export interface RunningSimulator {
  url: string;
  port: number;
  stop(): Promise<void>;
}

export const defaults = {
  port: 4010,
  host: '127.0.0.1',
  webhookUrl: 'http://localhost:4001/webhooks/stripe',
  webhookEvents: ['*'] as readonly string[],
  webhookSecret: 'whsec_dev',
  databaseUrl: 'postgresql://postgres@127.0.0.1:5432/clearhouse_psp',
};

function buildConfig(overrides: Partial<RuntimeConfig> | undefined): RuntimeConfig {
  const config = { ...defaultRuntimeConfig };
  const problems = mergeRuntimeConfig(config, overrides ?? {});
  if (problems.length > 0) throw new Error(`invalid simulator config: ${problems.join('; ')}`);
  return config;
}

async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<RunningSimulator> {
  const logger = options.logger ?? pino({ name: 'psp-simulator', level: options.logLevel ?? 'info' });
  const databaseUrl = options.databaseUrl ?? defaults.databaseUrl;
  const config = buildConfig(options.config);
  const enabledEventTypes = new EnabledEventTypes(options.webhookEvents ?? defaults.webhookEvents);
  await ensureDatabase(databaseUrl);
  const pool = new Pool({ connectionString: databaseUrl, max: 10 });
  // An idle connection the server closes (a PostgreSQL restart, a dropped database) must not
  // crash the simulator: pg re-emits it on the pool, and the next query reconnects.
  pool.on('error', (error) => logger.warn({ err: error }, 'idle database connection lost'));
  await createTables(pool);

  const writer = new WriteBehind(pool, logger);
  const store = new Store(writer);
  const jobs = new JobScheduler(writer, logger);
  const log = new RequestLog();
  const faults = new FaultState();
  const clock = new Clock();
  const events = new EventBus(store, clock, jobs, faults, config, log, enabledEventTypes);
  const idempotency = new IdempotencyKeys(writer);
  const sim: Sim = { config, clock, store, writer, jobs, events, log, faults, logger, publicUrl: options.publicUrl ?? '' };
  const dispatcher = new WebhookDispatcher({
    store,
    jobs,
    writer,
    config,
    log,
    logger,
    webhookUrl: options.webhookUrl ?? defaults.webhookUrl,
    webhookSecret: options.webhookSecret ?? defaults.webhookSecret,
  });
  registerJobs(sim, dispatcher);

  const [objects, keys] = await Promise.all([loadTable(pool, 'objects'), loadTable(pool, 'idempotency_keys')]);
  store.load(objects);
  idempotency.load(keys);

  const deps: PipelineDeps = { sim, idempotency, hangingTimers: new Set() };
  const server = createServer((request, response) => void handle(sim, deps, pool, request, response));
  server.keepAliveTimeout = 65_000;
  const port = await listen(server, options.port ?? defaults.port, options.host ?? defaults.host);
  sim.publicUrl = (options.publicUrl ?? `http://localhost:${port}`).replace(/\/$/, '');
  jobs.load(await loadTable(pool, 'jobs'));
  logger.info({ port, objects: objects.length, pendingJobs: jobs.pendingCount() }, 'psp simulator listening');

  const stop = async (): Promise<void> => {
    dispatcher.stop();
    await jobs.stop();
    for (const timer of deps.hangingTimers) clearTimeout(timer);
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    await writer.flush().catch(() => undefined);
    await pool.end();
  };
  return { url: `http://127.0.0.1:${port}`, port, stop };
}

function registerJobs(sim: Sim, dispatcher: WebhookDispatcher): void {
  sim.jobs.register(jobKinds.webhook, dispatcher.handle);
  sim.jobs.register(jobKinds.paymentProcessingComplete, (job) => finishProcessing(sim, job));
  sim.jobs.register(jobKinds.refundSettle, (job) => settleRefund(sim, job));
  sim.jobs.register(jobKinds.refundFail, (job) => failRefund(sim, job));
  sim.jobs.register(jobKinds.payoutAdvance, (job) => advancePayout(sim, job));
  sim.jobs.register(jobKinds.disputeCreate, (job) => createDisputeWhenDue(sim, job));
  sim.jobs.register(jobKinds.sessionExpire, (job) => expireWhenDue(sim, job));
}

async function handle(sim: Sim, deps: PipelineDeps, pool: Pool, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://simulator.local');
  const path = url.pathname;
  try {
    if (path.startsWith('/v1/')) return await handleApiRequest(deps, request, response, path, url.search.slice(1));
    if (path.startsWith('/pay/')) return await handlePayPage(sim, request, response, path);
    if (path.startsWith('/__admin/')) return await handleAdmin(sim, request, response, path, url.searchParams);
    if (path === '/healthz') return sendJson(response, 200, { status: 'ok' });
    if (path === '/readyz') return await ready(pool, response);
    if (path === '/metrics') return send(response, 200, 'text/plain; version=0.0.4', renderMetrics(sim));
    sendJson(response, 404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${request.method}: ${path}).` } });
  } catch (error) {
    if (error instanceof BodyTooLargeError) return sendJson(response, 413, { error: { type: 'invalid_request_error', message: error.message } });
    sim.logger.error({ err: error, path }, 'psp simulator: request failed');
    sendJson(response, 500, { error: { type: 'api_error', message: 'An unexpected error occurred in the simulator.' } });
  }
}

async function ready(pool: Pool, response: ServerResponse): Promise<void> {
  try {
    await pool.query('SELECT 1');
    sendJson(response, 200, { status: 'ready' });
  } catch {
    sendJson(response, 503, { status: 'database unavailable' });
  }
}
