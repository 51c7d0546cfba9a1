// Composition root of the payments subgraph: env → logger → prisma → broker → PSP → outbox relay
// → consumers → server → schedulers. Parts stop in reverse order (schedulers and the server
// first, the relay after the last outbox write, prisma and the broker last).
import { join } from 'node:path';
import {
  type HttpService,
  type Logger,
  createMetricsRegistry,
  databaseUrl,
  instrumentPsp,
  pspMetrics,
  openServiceDatabase,
  startPeriodicJob,
  SERVICE_CONSUMER_BATCH_LINGER_MS,
  startServiceMessaging,
  startSubgraphService,
  type Stoppable,
} from '@clearhouse/shared';
import { cancelAbandonedRegistrations } from './application/abandoned-registrations.js';
import { ensureDevelopmentKeys } from './application/api-keys.js';
import { cleanupExpiredRecords } from './application/cleanup.js';
import type { PaymentsDeps } from './application/deps.js';
import { recheckPendingPayments } from './application/recheck.js';
import { releaseDueOrders } from './application/delivery.js';
import { recheckPendingRefunds } from './application/refunds.js';
import { stripeApiBase, type PaymentsEnv } from './env.js';
import type { PaymentsContext } from './graphql/context.js';
import { apiKeyResolveRoute } from './graphql/internal-routes.js';
import { internalSyncRoute } from './graphql/internal-sync-route.js';
import { createPaymentsLoaders } from './graphql/loaders.js';
import { resolvers } from './graphql/resolvers/index.js';
import { stripeWebhookRoute } from './graphql/webhook-route.js';
import { paymentStatusMetrics } from './messaging/status-metrics.js';
import { timelineConsumer } from './messaging/timeline-consumer.js';
import { prismaApiKeyRepository } from './persistence/api-keys.js';
import { sqlPaymentsStore } from './persistence/payments.js';
import { createPaymentsPrisma } from './persistence/prisma.js';
import { createStripePsp } from './psp/stripe.js';

export const SCHEMA_FILE = join(__dirname, '..', 'src', 'graphql', 'schema.graphql');
const PSP_RETRY_BACKOFF_MS_MAX = 5_000;

export interface RunningPayments {
  readonly http: HttpService;
  readonly parts: readonly Stoppable[];
  readonly deps: PaymentsDeps;
}

export async function startPayments(env: PaymentsEnv, logger: Logger): Promise<RunningPayments> {
  const parts: Stoppable[] = [];
  const prisma = createPaymentsPrisma({ postgresUrl: env.POSTGRES_URL, databasePrefix: env.DATABASE_PREFIX, poolMax: env.DB_POOL_MAX });
  parts.push({ name: 'prisma', stop: () => prisma.$disconnect() });

  const apiKeys = prismaApiKeyRepository(prisma);
  if (env.NODE_ENV !== 'production') {
    await ensureDevelopmentKeys(apiKeys, { platform: env.CLEARHOUSE_PLATFORM_KEY, ops: env.CLEARHOUSE_OPS_KEY });
  }

  // The payments store, the outbox relay, the consumers and the idempotency table run raw SQL on
  // node-postgres directly; Prisma Client is left with the API keys.
  const db = openServiceDatabase({ url: databaseUrl(env.POSTGRES_URL, env.DATABASE_PREFIX, 'payments'), service: 'payments', poolMax: env.DB_POOL_MAX, logger });
  parts.push({ name: 'pg', stop: () => db.end() });
  const metrics = createMetricsRegistry('payments');
  const messaging = startServiceMessaging({
    service: 'payments',
    amqpUrl: env.AMQP_URL,
    brokerPrefix: env.BROKER_PREFIX,
    db,
    logger,
    retention: { outboxPublishedMs: env.OUTBOX_RETENTION_MS, inboxMs: env.INBOX_RETENTION_MS },
    metricsRegistry: metrics,
    onPublished: paymentStatusMetrics(metrics),
  });
  const { broker, relay } = messaging;
  parts.push(...messaging.parts);

  const psp = instrumentPsp(
    createStripePsp({
      apiKey: env.STRIPE_API_KEY,
      apiBase: stripeApiBase(env),
      timeoutMs: env.PSP_TIMEOUT_MS,
      webhookSecret: env.STRIPE_WEBHOOK_SECRET,
    }),
    pspMetrics(metrics),
  );
  const deps: PaymentsDeps = {
    store: sqlPaymentsStore(db),
    sql: db,
    psp,
    logger,
    fees: { percentBps: env.PLATFORM_FEE_PERCENT_BPS, fixedMinor: env.PLATFORM_FEE_FIXED_MINOR },
    risk: {
      paymentAmountMajorMax: env.RISK_PAYMENT_AMOUNT_MAJOR_MAX,
      buyerPaymentsPerWindowMax: env.RISK_BUYER_PAYMENTS_PER_WINDOW_MAX,
      buyerVelocityWindowMs: env.RISK_BUYER_VELOCITY_WINDOW_MS,
      blockedBuyerIds: env.RISK_BLOCKED_BUYER_IDS,
      blockedSellerIds: env.RISK_BLOCKED_SELLER_IDS,
    },
    pspPolicy: {
      attemptsMax: env.PSP_ATTEMPTS_MAX,
      timeoutMs: env.PSP_TIMEOUT_MS,
      backoffMsBase: env.PSP_RETRY_BACKOFF_MS,
      backoffMsMax: Math.max(env.PSP_RETRY_BACKOFF_MS, PSP_RETRY_BACKOFF_MS_MAX),
    },
    recheck: { minAgeMs: env.PAYMENT_RECHECK_MIN_AGE_MS, delayMsMax: env.PAYMENT_RECHECK_DELAY_MS_MAX },
    aftersale: {
      deliveryHoldMs: env.DELIVERY_HOLD_MS,
      refundFeePolicy: env.REFUND_FEE_POLICY,
      disputeFeeBorneBy: env.DISPUTE_FEE_BORNE_BY,
      disputeLossBorneBy: env.DISPUTE_LOSS_BORNE_BY,
    },
    onOutboxWritten: () => relay.wake(),
  };

  logger.info({ ...deps.aftersale }, 'after-sale policies (DELIVERY_HOLD_MS, REFUND_FEE_POLICY, DISPUTE_FEE_BORNE_BY, DISPUTE_LOSS_BORNE_BY)');

  const consumers = await messaging.startConsumers({
    db,
    prefix: env.BROKER_PREFIX,
    logger,
    prefetch: 50,
    batchLingerMs: SERVICE_CONSUMER_BATCH_LINGER_MS,
    consumers: [timelineConsumer],
  });
  parts.push({ name: 'consumers', stop: () => consumers.stop() });

  const edge = await startSubgraphService<PaymentsContext>({
    service: 'payments',
    port: env.PAYMENTS_PORT,
    host: env.PAYMENTS_HOST,
    production: env.NODE_ENV === 'production',
    signingSecret: env.INTERNAL_SIGNING_SECRET,
    logger,
    schemaFile: SCHEMA_FILE,
    resolvers,
    metrics,
    extendContext: (base) => ({ ...base, apiKeys, deps, loaders: createPaymentsLoaders(deps.store) }),
    routes: [apiKeyResolveRoute(apiKeys, env.INTERNAL_SIGNING_SECRET), stripeWebhookRoute(deps), internalSyncRoute(deps, env.INTERNAL_SIGNING_SECRET)],
    readiness: async () => ({
      database: await prisma.$queryRawUnsafe('SELECT 1').then(() => true, () => false),
      broker: broker.ready,
    }),
  });
  parts.push(...edge.parts);

  parts.push(
    startPeriodicJob({
      name: 'payment-recheck',
      intervalMs: env.PAYMENT_RECHECK_INTERVAL_MS,
      logger,
      run: () => recheckPendingPayments(deps, env.PAYMENT_RECHECK_BATCH_SIZE),
    }),
    startPeriodicJob({
      name: 'refund-recheck',
      intervalMs: env.PAYMENT_RECHECK_INTERVAL_MS,
      logger,
      run: () => recheckPendingRefunds(deps, env.PAYMENT_RECHECK_BATCH_SIZE),
    }),
    startPeriodicJob({
      name: 'delivery-release',
      intervalMs: env.DELIVERY_RELEASE_INTERVAL_MS,
      logger,
      run: () => releaseDueOrders(deps, env.DELIVERY_RELEASE_BATCH_SIZE),
    }),
    startPeriodicJob({
      name: 'abandoned-registrations',
      intervalMs: env.CLEANUP_INTERVAL_MS,
      logger,
      run: () => cancelAbandonedRegistrations(deps, { olderThanMs: env.PAYMENT_REGISTRATION_ABANDON_MS, batchSize: env.PAYMENT_RECHECK_BATCH_SIZE }),
    }),
    startPeriodicJob({
      name: 'retention-cleanup',
      intervalMs: env.CLEANUP_INTERVAL_MS,
      logger,
      run: () => cleanupExpiredRecords(deps, { idempotencyKeysMs: env.IDEMPOTENCY_KEY_RETENTION_MS, webhookEventsMs: env.WEBHOOK_EVENT_RETENTION_MS }),
    }),
  );
  return { http: edge.http, parts, deps };
}
