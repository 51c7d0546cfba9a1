// A service's messaging wiring, the same in every subgraph: one broker connection named after the
// service (so operators can tell them apart in the management UI) and the outbox relay that
// publishes what the service committed. Returned parts stop in reverse: relay, then connection.
import type { Registry } from 'prom-client';
import { Connection } from 'rabbitmq-client';
import { eventsExchangeName } from '../config/index.js';
import type { Stoppable } from '../http/lifecycle.js';
import { startPeriodicJob } from '../http/periodic.js';
import type { Logger } from '../logging/index.js';
import { startConsumers, type RunningConsumers, type StartConsumersOptions } from './consumer.js';
import type { DomainEvent } from './envelope.js';
import { messagingMetrics, registerOutboxBacklog, registerQueueDepths, type MessagingMetrics, type WatchedQueues } from './metrics.js';
import { createOutboxRelay, type OutboxRelay } from './outbox.js';
import { deleteExpiredMessages, MESSAGING_CLEANUP_INTERVAL_MS, type MessagingRetention } from './retention.js';
import type { TransactionalDb } from './sql.js';

/** How long a woken relay waits for more commits before it claims (BENCHMARKS.md). */
const RELAY_LINGER_MS = 10;

/**
 * How long the services' batchable consumers let a lone delivery wait for others before its
 * transaction starts (startConsumers' batchLingerMs): at a few hundred payments a second the
 * ledger, the wallet and the payments timeline then commit several deliveries per transaction
 * instead of one each, for at most this much event latency per hop (BENCHMARKS.md, change 36).
 */
export const SERVICE_CONSUMER_BATCH_LINGER_MS = 30;

export interface ServiceMessaging {
  readonly broker: Connection;
  readonly relay: OutboxRelay;
  readonly parts: readonly Stoppable[];
  /** The messaging counters (undefined without a registry). */
  readonly metrics: MessagingMetrics | undefined;
  /**
   * startConsumers on this service's broker connection, counting each delivery's outcome and
   * reporting the consumers' work and dead-letter queue depths at each scrape (with a registry).
   */
  startConsumers(options: Omit<StartConsumersOptions, 'connection' | 'metrics'>): Promise<RunningConsumers>;
}

export function startServiceMessaging(options: {
  readonly service: string;
  readonly amqpUrl: string;
  readonly brokerPrefix: string;
  readonly db: TransactionalDb;
  readonly logger: Logger;
  /** How long published outbox rows and inbox rows are kept; deleted hourly after that. */
  readonly retention: MessagingRetention;
  /** The service's Prometheus registry: outbox, consumer and queue metrics are added to it. */
  readonly metricsRegistry?: Registry;
  /** Told about every batch of events the relay published (after it was marked published). */
  readonly onPublished?: (events: readonly DomainEvent<unknown>[]) => void;
}): ServiceMessaging {
  const broker = new Connection({ url: options.amqpUrl, connectionName: `${options.brokerPrefix}.${options.service}` });
  broker.on('error', (error) => options.logger.warn({ err: error }, 'broker connection error'));
  const registry = options.metricsRegistry;
  const metrics = registry ? messagingMetrics(registry) : undefined;
  const relay = createOutboxRelay({
    db: options.db,
    connection: broker,
    exchange: eventsExchangeName(options.brokerPrefix),
    logger: options.logger,
    // Under load, commits of the next few milliseconds share one relay run (claim, publish with
    // confirms, mark): fewer statements per event for a few milliseconds of event latency.
    lingerMs: RELAY_LINGER_MS,
    ...(metrics ? { metrics } : {}),
    ...(options.onPublished ? { onPublished: options.onPublished } : {}),
  });
  relay.start();
  if (registry) registerOutboxBacklog(registry, () => relay.backlog(), options.logger);
  const watched: WatchedQueues[] = [];
  if (registry) registerQueueDepths(registry, broker, () => watched, options.logger);
  const logger = options.logger;
  const cleanup = startPeriodicJob({
    name: 'messaging-retention',
    intervalMs: MESSAGING_CLEANUP_INTERVAL_MS,
    logger,
    run: async () => {
      const deleted = await deleteExpiredMessages(options.db, options.retention);
      if (deleted.outbox + deleted.inbox > 0) logger.info(deleted, 'expired outbox and inbox rows deleted');
    },
  });
  return {
    broker,
    relay,
    metrics,
    async startConsumers(consumerOptions) {
      const consumers = await startConsumers({ ...consumerOptions, connection: broker, ...(metrics ? { metrics } : {}) });
      watched.push(...consumers.queues);
      return consumers;
    },
    parts: [
      { name: 'broker', stop: () => broker.close() },
      { name: 'outbox-relay', stop: () => relay.stop() },
      cleanup,
    ],
  };
}
