// Prometheus metrics of the messaging kit (ARCHITECTURE.md, Observability): what each service's
// outbox relay published and has yet to publish, what its consumers did with each delivery, and how
// many messages wait in its work queues and dead-letter queues. Counters count in this process
// (Prometheus sums the instances); the gauges are read when Prometheus scrapes, from the database
// (outbox backlog) and the broker (queue depths), so they are true for the whole installation.
import type { Connection } from 'rabbitmq-client';
import { Counter, Gauge, type Registry } from 'prom-client';
import type { MessagingLogger } from './logger.js';

/** What a consumer did with one delivery. */
export type ConsumedOutcome = 'handled' | 'duplicate' | 'retry_scheduled' | 'dead_lettered';

export interface MessagingMetrics {
  /** Outbox rows published (broker-confirmed), by event type. */
  readonly outboxPublished: Counter<'event_type'>;
  /** Outbox publishes that failed and will be retried, by event type. */
  readonly outboxPublishFailures: Counter<'event_type'>;
  /** Deliveries by consumer and outcome. */
  readonly messagesConsumed: Counter<'consumer' | 'outcome'>;
}

/** Registers the messaging counters on `registry` (once per registry). */
export function messagingMetrics(registry: Registry): MessagingMetrics {
  return {
    outboxPublished: new Counter({
      name: 'clearhouse_outbox_published_total',
      help: 'Outbox events published with a broker confirm, by event type',
      labelNames: ['event_type'] as const,
      registers: [registry],
    }),
    outboxPublishFailures: new Counter({
      name: 'clearhouse_outbox_publish_failures_total',
      help: 'Outbox publishes that failed (unroutable, broker down) and stay pending for a retry, by event type',
      labelNames: ['event_type'] as const,
      registers: [registry],
    }),
    messagesConsumed: new Counter({
      name: 'clearhouse_messages_consumed_total',
      help: 'Deliveries by consumer and outcome: handled, duplicate (inbox hit), retry_scheduled (sent to a delay tier), dead_lettered (parked)',
      labelNames: ['consumer', 'outcome'] as const,
      registers: [registry],
    }),
  };
}

/** Longest a scrape waits for one reading before it reports what it has (-1 for the missing one). */
const SCRAPE_READING_TIMEOUT_MS = 2_000;

async function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * `clearhouse_outbox_backlog`: outbox rows not yet published, read from the database at each
 * scrape. A growing backlog means the relay is stuck (broker down, unroutable events). When the
 * database does not answer, the gauge reads -1 (and the failure is logged), so an alert on it
 * does not go quiet with the database.
 */
export function registerOutboxBacklog(registry: Registry, backlog: () => Promise<number>, logger: MessagingLogger): Gauge {
  return new Gauge({
    name: 'clearhouse_outbox_backlog',
    help: 'Outbox rows not yet published (read at scrape time; -1 when the database did not answer)',
    registers: [registry],
    async collect() {
      try {
        this.set(await withTimeout(backlog(), SCRAPE_READING_TIMEOUT_MS));
      } catch (error) {
        logger.warn({ err: error }, 'outbox backlog unreadable for metrics');
        this.set(-1);
      }
    },
  });
}

/** One consumer's queues, as the queue-depth gauges report them. */
export interface WatchedQueues {
  readonly consumer: string;
  readonly queue: string;
  readonly deadLetterQueue: string;
}

/**
 * `clearhouse_queue_messages{consumer, queue, kind}`: messages ready in each consumer's work queue
 * (`kind="work"`) and parked in its dead-letter queue (`kind="dead_letter"`), read from the broker
 * (a passive declare) at each scrape. A queue the broker does not answer for, or every queue while
 * the connection is down, reads -1.
 */
export function registerQueueDepths(registry: Registry, connection: Connection, queues: () => readonly WatchedQueues[], logger: MessagingLogger): Gauge<'consumer' | 'queue' | 'kind'> {
  return new Gauge({
    name: 'clearhouse_queue_messages',
    help: 'Messages waiting in a consumer queue (kind="work") or parked in its dead-letter queue (kind="dead_letter"), read from the broker at scrape time; -1 when unreadable',
    labelNames: ['consumer', 'queue', 'kind'] as const,
    registers: [registry],
    async collect() {
      const readings = queues().flatMap((watched) => [
        { consumer: watched.consumer, queue: watched.queue, kind: 'work' as const },
        { consumer: watched.consumer, queue: watched.deadLetterQueue, kind: 'dead_letter' as const },
      ]);
      // While the broker is unreachable, a declare would wait in the client's queue for the
      // reconnection (one more per scrape): report the outage at once instead.
      const connected = connection.ready;
      const depths = await Promise.all(
        readings.map(async (labels) => {
          if (!connected) return -1;
          try {
            const { messageCount } = await withTimeout(connection.queueDeclare({ queue: labels.queue, passive: true }), SCRAPE_READING_TIMEOUT_MS);
            return messageCount;
          } catch (error) {
            logger.warn({ err: error, queue: labels.queue }, 'queue depth unreadable for metrics');
            return -1;
          }
        }),
      );
      this.reset();
      readings.forEach((labels, index) => this.set(labels, depths[index] ?? -1));
    },
  });
}
