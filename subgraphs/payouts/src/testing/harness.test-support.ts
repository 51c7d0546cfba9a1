// Integration harness: a real payouts service (startPayouts) on a throw-away database and broker
// namespace, the PSP simulator in-process on its own database, the real wallet's internal routes
// in-process on the wallet's own database (wallet.test-support.ts), and a stand-in for the
// payments subgraph's webhook relay (PSP payout webhooks → psp.payout_updated@1, the event
// payments is asked to publish).
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createLogger, encodeEnvelope, eventProperties, eventsExchangeName, newEvent, serializeEventPayload, silentLogger,
  type PspPayoutUpdatedV1, type Stoppable,
} from '@clearhouse/shared';
import { createTestBroker, createTestDatabase, freePort, type TestBroker, type TestDatabase } from '@clearhouse/shared/testkit';
import { startPayouts, type RunningPayouts } from '../app.js';
import { startPayoutJobs, type PayoutJobsOptions, type RunningJobs } from '../jobs/scheduler.js';
import { parsePayoutsEnv, type PayoutsEnv } from '../env.js';
import { startWalletService, type WalletService } from './wallet.test-support.js';

// The simulator lives in another workspace; loaded at run time (jest transpiles it), typed
// structurally so this workspace's typecheck never compiles its sources.
interface SimulatorModule {
  startSimulator(options: Record<string, unknown>): Promise<{ url: string; port: number; stop(): Promise<void> }>;
}
interface SimulatorDbModule {
  dropDatabase(databaseUrl: string): Promise<void>;
}
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulatorModule = require('../../../../psp-simulator/src/server.ts') as SimulatorModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulatorDb = require('../../../../psp-simulator/src/store/db.ts') as SimulatorDbModule;

const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const SIGNING_SECRET = 'test-internal-signing-secret-0123456789';

export interface SimulatorLogEntry {
  kind: string;
  method?: string;
  path?: string;
  idempotencyKey?: string | null;
  outcome?: string;
  type?: string;
}

export interface Harness {
  env: PayoutsEnv;
  /** The service's database: a second payouts instance (another pool on it) runs beside the first. */
  databaseUrl: string;
  service: RunningPayouts;
  wallet: WalletService;
  broker: TestBroker;
  simulatorUrl: string;
  signingSecret: string;
  admin(method: string, path: string, body?: unknown): Promise<unknown>;
  simulatorLog(): Promise<SimulatorLogEntry[]>;
  publishPspPayoutUpdate(update: PspPayoutUpdatedV1): Promise<void>;
  stop(): Promise<void>;
}

async function readAll(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startHarness(extraEnv: Record<string, string> = {}): Promise<Harness> {
  const stoppables: Stoppable[] = [];
  const payoutsDb: TestDatabase = await createTestDatabase('payouts');
  stoppables.push({ name: 'payouts-db', stop: () => payoutsDb.drop() });
  const broker = await createTestBroker();
  stoppables.push({ name: 'broker', stop: () => broker.cleanup() });
  const wallet = await startWalletService(SIGNING_SECRET);
  stoppables.push({ name: 'wallet', stop: () => wallet.stop() });

  const exchange = eventsExchangeName(broker.prefix);
  await broker.connection.exchangeDeclare({ exchange, type: 'topic', durable: true });
  const publisher = broker.connection.createPublisher({ confirm: true, exchanges: [{ exchange, type: 'topic', durable: true }] });
  stoppables.push({ name: 'publisher', stop: () => publisher.close() });
  async function publishPspPayoutUpdate(update: PspPayoutUpdatedV1): Promise<void> {
    const wire = serializeEventPayload('psp.payout_updated@1', update);
    const event = newEvent('psp.payout_updated', 1, update.payoutId ?? update.pspPayoutId, wire);
    await publisher.send({ exchange, routingKey: event.type, ...eventProperties(event) }, encodeEnvelope(event));
  }

  // Stand-in for payments' POST /webhooks/stripe: payout.* webhooks become psp.payout_updated@1.
  const relay: Server = createServer((request, response) => {
    void readAll(request).then(async (text) => {
      const event = JSON.parse(text) as { id: string; type: string; created: number; data: { object: Record<string, unknown> } };
      if (event.type.startsWith('payout.')) {
        const payout = event.data.object as { id: string; status: PspPayoutUpdatedV1['status']; metadata?: Record<string, string>; failure_code?: string | null; failure_message?: string | null };
        await publishPspPayoutUpdate({
          pspEventId: event.id,
          pspPayoutId: payout.id,
          ...(payout.metadata?.payoutId ? { payoutId: payout.metadata.payoutId } : {}),
          status: payout.status,
          ...(payout.failure_code ? { failureCode: payout.failure_code } : {}),
          ...(payout.failure_message ? { failureMessage: payout.failure_message } : {}),
          occurredAt: new Date(event.created * 1000),
        });
      }
      response.writeHead(200).end('{}');
    }).catch(() => response.writeHead(500).end('{}'));
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  stoppables.push({ name: 'relay', stop: () => new Promise<void>((resolve) => { relay.close(() => resolve()); relay.closeAllConnections(); }) });

  const simulatorDatabaseUrl = `${POSTGRES_URL}/clearhouse_test_psp_${randomBytes(6).toString('hex')}`;
  const simulator = await simulatorModule.startSimulator({
    port: 0,
    host: '127.0.0.1',
    databaseUrl: simulatorDatabaseUrl,
    webhookUrl: `http://127.0.0.1:${(relay.address() as AddressInfo).port}/webhooks/stripe`,
    webhookSecret: 'whsec_test',
    logLevel: 'silent',
    config: { payoutDelayMs: 200, webhookRetryBaseMs: 50, webhookRetryMaxDelayMs: 400, webhookMaxAttempts: 5, apiTimeoutHangMs: 3000 },
  });
  stoppables.push({ name: 'simulator-db', stop: () => simulatorDb.dropDatabase(simulatorDatabaseUrl) });
  stoppables.push({ name: 'simulator', stop: () => simulator.stop() });

  const env = parsePayoutsEnv({
    NODE_ENV: 'test',
    LOG_LEVEL: 'silent',
    POSTGRES_URL,
    AMQP_URL: broker.amqpUrl,
    BROKER_PREFIX: broker.prefix,
    INTERNAL_SIGNING_SECRET: SIGNING_SECRET,
    PAYOUTS_PORT: String(await freePort()),
    PAYOUTS_HOST: '127.0.0.1',
    STRIPE_API_BASE: simulator.url,
    PSP_TIMEOUT_MS: '500',
    PSP_ATTEMPTS_MAX: '2',
    PSP_RETRY_BACKOFF_MS: '50',
    WALLET_INTERNAL_URL: wallet.url,
    PAYOUT_RECHECK_INTERVAL_MS: '1h',
    PAYOUT_RECHECK_MIN_AGE_MS: '0',
    PAYOUT_PENDING_REDRIVE_AFTER_MS: '1h',
    // The sweep of abandoned reservations runs on demand (service.releaseAbandonedReservations).
    RESERVATION_SWEEP_INTERVAL_MS: '24h',
    ...extraEnv,
  });
  const logger = createLogger({ service: 'payouts', level: env.LOG_LEVEL });
  const service = await startPayouts(env, logger, { databaseUrl: payoutsDb.url, retryTiersMs: [300, 600, 1200, 2400, 4800] });
  stoppables.push({ name: 'service', stop: async () => { for (const part of [...service.parts].reverse()) await part.stop(); } });

  async function admin(method: string, path: string, body?: unknown): Promise<unknown> {
    const response = await fetch(`${simulator.url}${path}`, {
      method,
      headers: { 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    return response.json();
  }

  return {
    env,
    databaseUrl: payoutsDb.url,
    service,
    wallet,
    broker,
    simulatorUrl: simulator.url,
    signingSecret: SIGNING_SECRET,
    admin,
    async simulatorLog() {
      return ((await admin('GET', '/__admin/log')) as { entries: SimulatorLogEntry[] }).entries;
    },
    publishPspPayoutUpdate,
    async stop() {
      for (const part of stoppables.reverse()) {
        try {
          await part.stop();
        } catch {
          // best effort: the next part still gets stopped
        }
      }
    },
  };
}

export async function waitFor<T>(probe: () => Promise<T | undefined | null | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const intervalMs = 50;
  for (let tries = 0; tries < timeoutMs / intervalMs + 2; tries++) {
    const found = await probe();
    if (found !== undefined && found !== null && found !== false) return found;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/**
 * The payout jobs with only the daily schedule doing anything: due from midnight UTC, checked every
 * `checkIntervalMs`, each tick handed to `run` (the PSP re-check is an hour away).
 */
export function startDailySchedule(run: PayoutJobsOptions['schedule']['run'], checkIntervalMs = 100): RunningJobs {
  return startPayoutJobs({
    logger: silentLogger,
    recheckIntervalMs: 3_600_000,
    recheck: async () => undefined,
    schedule: { enabled: true, time: { hours: 0, minutes: 0 }, checkIntervalMs, run },
  });
}
