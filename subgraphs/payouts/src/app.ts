// Composition root of the payouts subgraph: env → logger → prisma → broker → outbox relay →
// consumers → jobs → server. Shutdown runs in reverse (runUntilSignal stops `parts` last-first).
import { join } from 'node:path';
import {
  type HttpService,
  type Logger,
  cleanupExpiredIdempotencyKeys,
  createMetricsRegistry,
  databaseUrl,
  instrumentPsp,
  pspMetrics,
  openServiceDatabase,
  startPeriodicJob,
  type TransactionalDb,
  startServiceMessaging,
  startSubgraphService,
  type Stoppable,
} from '@clearhouse/shared';
import type { PayoutsDeps } from './application/deps.js';
import { recheckPayouts, type RecheckSummary } from './application/recheck-payouts.js';
import { releaseAbandonedReservations, type SweepSummary } from './application/release-abandoned-reservations.js';
import { runDueScheduledPayouts, runScheduledPayouts, type ScheduledRunSummary } from './application/scheduled-payouts.js';
import { deleteExpiredScheduledRuns } from './application/scheduled-runs-retention.js';
import { createWalletClient } from './clients/wallet.js';
import { stripeApiBase, type PayoutsEnv } from './env.js';
import type { PayoutsContext } from './graphql/context.js';
import { resolvers } from './graphql/resolvers/index.js';
import { startPayoutJobs } from './jobs/scheduler.js';
import { abandonedReservationMetrics } from './jobs/sweep-metrics.js';
import { payoutsConsumers } from './messaging/index.js';
import { createPayoutsPrisma } from './persistence/prisma.js';
import { createStripePayoutsPsp } from './psp/stripe.js';

export const SCHEMA_FILE = join(__dirname, '..', 'src', 'graphql', 'schema.graphql');
const IDEMPOTENCY_LOCK_TTL_MS = 60_000;
const SCHEDULE_CHECK_INTERVAL_MS = 60_000;

export interface RunningPayouts {
  readonly http: HttpService;
  readonly parts: readonly Stoppable[];
  readonly deps: PayoutsDeps;
  /**
   * The daily run of the UTC day of `at`, on demand (tests, operators): resumed where it stopped;
   * nothing once the day completed; a day older than IDEMPOTENCY_KEY_RETENTION_MS is refused
   * (ScheduledDayExpiredError) and nothing is written.
   */
  runScheduledPayouts(at?: Date): Promise<ScheduledRunSummary>;
  /** One re-check round, on demand. */
  recheckPayouts(): Promise<RecheckSummary>;
  /** One sweep of wallet reservations no payout exists for, on demand. */
  releaseAbandonedReservations(): Promise<SweepSummary>;
}

export function createPayoutsDeps(env: PayoutsEnv, db: TransactionalDb, logger: Logger, onOutboxWritten?: () => void): PayoutsDeps {
  return {
    db,
    wallet: createWalletClient({ baseUrl: env.WALLET_INTERNAL_URL, signingSecret: env.INTERNAL_SIGNING_SECRET, timeoutMs: env.WALLET_TIMEOUT_MS }),
    psp: createStripePayoutsPsp({ apiKey: env.STRIPE_API_KEY, apiBase: stripeApiBase(env), timeoutMs: env.PSP_TIMEOUT_MS }),
    pspPolicy: { attemptsMax: env.PSP_ATTEMPTS_MAX, timeoutMs: env.PSP_TIMEOUT_MS, backoffMsBase: env.PSP_RETRY_BACKOFF_MS, backoffMsMax: 5_000 },
    config: {
      minimumMajor: env.PAYOUT_MINIMUM_MAJOR,
      fxRates: env.FX_RATES,
      destinations: env.PAYOUT_DESTINATIONS,
      idempotencyLockTtlMs: IDEMPOTENCY_LOCK_TTL_MS,
      idempotencyKeyRetentionMs: env.IDEMPOTENCY_KEY_RETENTION_MS,
    },
    logger,
    ...(onOutboxWritten ? { onOutboxWritten } : {}),
  };
}

export interface StartPayoutsOptions {
  /** The database URL itself (tests use a throw-away database); default <DATABASE_PREFIX>_payouts. */
  databaseUrl?: string;
  /** The consumers' retry tiers; default the kit's 1, 2, 4, 8, 16 s. */
  retryTiersMs?: readonly number[];
  /** Replaces parts of the dependencies (tests). */
  deps?: Partial<PayoutsDeps>;
}

export async function startPayouts(env: PayoutsEnv, logger: Logger, options: StartPayoutsOptions = {}): Promise<RunningPayouts> {
  const parts: Stoppable[] = [];
  const prisma = createPayoutsPrisma({
    postgresUrl: env.POSTGRES_URL,
    databasePrefix: env.DATABASE_PREFIX,
    poolMax: env.DB_POOL_MAX,
    ...(options.databaseUrl ? { url: options.databaseUrl } : {}),
  });
  parts.push({ name: 'prisma', stop: () => prisma.$disconnect() });
  // Use cases, consumers and the outbox relay run raw SQL on node-postgres directly.
  const db = openServiceDatabase({ url: options.databaseUrl ?? databaseUrl(env.POSTGRES_URL, env.DATABASE_PREFIX, 'payouts'), service: 'payouts', poolMax: env.DB_POOL_MAX, logger });
  parts.push({ name: 'pg', stop: () => db.end() });

  const metrics = createMetricsRegistry('payouts');
  const reservationReleased = abandonedReservationMetrics(metrics);
  const messaging = startServiceMessaging({
    service: 'payouts',
    amqpUrl: env.AMQP_URL,
    brokerPrefix: env.BROKER_PREFIX,
    db,
    logger,
    retention: { outboxPublishedMs: env.OUTBOX_RETENTION_MS, inboxMs: env.INBOX_RETENTION_MS },
    metricsRegistry: metrics,
  });
  const { broker, relay } = messaging;
  parts.push(...messaging.parts);
  const given: PayoutsDeps = { ...createPayoutsDeps(env, db, logger, () => relay.wake()), ...options.deps };
  const deps: PayoutsDeps = { ...given, psp: instrumentPsp(given.psp, pspMetrics(metrics)) };

  const consumers = await messaging.startConsumers({
    db,
    prefix: env.BROKER_PREFIX,
    consumers: payoutsConsumers(deps),
    // Bounds the payouts at the PSP at once (each execution's PSP call holds no connection).
    prefetch: Math.max(1, Math.floor(env.DB_POOL_MAX / 2)),
    logger,
    handlerTimeoutMs: 15_000,
    ...(options.retryTiersMs ? { retryTiersMs: options.retryTiersMs } : {}),
  });
  parts.push({ name: 'consumers', stop: () => consumers.stop() });

  const recheck = () =>
    recheckPayouts(deps, {
      batchSize: env.PAYOUT_RECHECK_BATCH_SIZE,
      processingMinAgeMs: env.PAYOUT_RECHECK_MIN_AGE_MS,
      pendingRedriveAfterMs: env.PAYOUT_PENDING_REDRIVE_AFTER_MS,
    });
  const runScheduled = (at?: Date) => runScheduledPayouts(deps, at);
  const jobs = startPayoutJobs({
    logger,
    recheckIntervalMs: env.PAYOUT_RECHECK_INTERVAL_MS,
    recheck,
    schedule: {
      enabled: env.PAYOUT_SCHEDULE_ENABLED,
      time: env.PAYOUT_SCHEDULE_UTC_TIME,
      checkIntervalMs: SCHEDULE_CHECK_INTERVAL_MS,
      run: (now, dueDay) => runDueScheduledPayouts(deps, now, dueDay),
    },
  });
  parts.push({ name: 'jobs', stop: () => jobs.stop() });
  // Housekeeping past IDEMPOTENCY_KEY_RETENTION_MS: the idempotency keys, then the records of the
  // daily payout runs (application/scheduled-runs-retention.ts); one failing does not stop the other.
  const housekeeping = async (): Promise<void> => {
    const results = [
      await cleanupExpiredIdempotencyKeys(deps, env.IDEMPOTENCY_KEY_RETENTION_MS).then(() => null, (error: unknown) => error),
      await deleteExpiredScheduledRuns(deps, env.IDEMPOTENCY_KEY_RETENTION_MS).then(() => null, (error: unknown) => error),
    ];
    const failed = results.find((error) => error !== null);
    if (failed !== undefined) throw failed;
  };
  parts.push(startPeriodicJob({ name: 'idempotency-retention', intervalMs: env.CLEANUP_INTERVAL_MS, logger, run: housekeeping }));
  const sweepReservations = () =>
    releaseAbandonedReservations(deps, {
      graceMs: env.RESERVATION_SWEEP_GRACE_MS,
      releasedRetentionMs: env.IDEMPOTENCY_KEY_RETENTION_MS,
      onReleased: reservationReleased,
    });
  parts.push(startPeriodicJob({ name: 'abandoned-reservations', intervalMs: env.RESERVATION_SWEEP_INTERVAL_MS, logger, run: sweepReservations }));

  const edge = await startSubgraphService<PayoutsContext>({
    service: 'payouts',
    port: env.PAYOUTS_PORT,
    host: env.PAYOUTS_HOST,
    production: env.NODE_ENV === 'production',
    signingSecret: env.INTERNAL_SIGNING_SECRET,
    logger,
    schemaFile: SCHEMA_FILE,
    resolvers,
    metrics,
    extendContext: (base) => ({ ...base, prisma, deps }),
    readiness: async () => ({
      database: await prisma.$queryRawUnsafe('SELECT 1').then(() => true, () => false),
      broker: broker.ready,
    }),
  });
  parts.push(...edge.parts);
  return { http: edge.http, parts, deps, runScheduledPayouts: runScheduled, recheckPayouts: recheck, releaseAbandonedReservations: sweepReservations };
}
