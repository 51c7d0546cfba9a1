import type { AsyncMessage, Connection, Consumer } from 'rabbitmq-client';
import { ConsumerStatus } from 'rabbitmq-client';
import type { z } from 'zod';
import { withCorrelationId } from '../logging/index.js';
import type { DomainEvent } from './envelope.js';
import { decodeEnvelope } from './envelope.js';
import { classifyError, describeError } from './failures.js';
import type { MessagingLogger } from './logger.js';
import type { MessagingMetrics, WatchedQueues } from './metrics.js';
import { ConfirmPublisher } from './publisher.js';
import type { AttemptRecord } from './retry.js';
import { deadLetterHeaders, rawBody, readAttempt, readHistory, republishEnvelope, retryHeaders } from './retry.js';
import type { SqlClient, TransactionalDb, TransactionOptions } from './sql.js';
import type { ConsumerTopology } from './topology.js';
import { DEFAULT_RETRY_TIERS_MS, consumerTopology, declareConsumerTopology, workQueueDeclaration } from './topology.js';

export interface ConsumerContext {
  consumer: string;
  queue: string;
  /** 1 for the first delivery, then one more per retry tier passed. */
  attempt: number;
  redelivered: boolean;
  logger: MessagingLogger;
}

interface ConsumerBase<T> {
  /** Unique per service; names the queue (`${prefix}.${name}`) and the inbox rows. */
  name: string;
  routingKeys: readonly string[];
  /** Validates (and may transform) the payload; a payload it rejects is parked at once. */
  schema?: z.ZodType<T>;
  /** Options of the handler's transaction (e.g. Serializable isolation). */
  transaction?: TransactionOptions;
}

/** A consumer whose whole effect is in its own database: the handler runs inside the inbox transaction. */
export interface TransactionalConsumerDefinition<T = unknown> extends ConsumerBase<T> {
  /**
   * Deliveries that arrive while a transaction of this consumer is running share the next one
   * (group commit, at most `StartConsumersOptions.batchSizeMax`). Only for handlers whose whole
   * effect is in the database: a batch that fails is rolled back and each of its messages runs
   * again alone, with the usual retry tiers and dead-lettering.
   */
  batchable?: boolean;
  /**
   * Batches of this consumer that may run at once (default 1). More than one only where every
   * batch takes its row locks in one global order (else two batches could deadlock and fall back
   * to one-by-one): it overlaps one batch's decoding with another's statements.
   */
  batchConcurrency?: number;
  handle(event: DomainEvent<T>, tx: SqlClient, ctx: ConsumerContext): Promise<void>;
  /**
   * Optional for a batchable consumer: takes a batch's first deliveries at once (e.g. one
   * statement for all of them). Must have the effect of `handle` on each event, in order.
   */
  handleBatch?(events: readonly DomainEvent<T>[], tx: SqlClient, ctxs: readonly ConsumerContext[]): Promise<void>;
  handleOutsideTransaction?: never;
}

/** Runs `fn` in one transaction together with the delivery's inbox row. */
export type RecordInTransaction = <R>(fn: (tx: SqlClient) => Promise<R>) => Promise<R>;

/**
 * A consumer whose effect starts outside the database (a PSP call): no external call may run
 * inside a database transaction, so the handler runs with none open. It makes its external call
 * first, then writes what came of it through `record`, whose one transaction also writes the
 * inbox row; `record` runs at most once per delivery. A delivery whose message id is in the inbox
 * already is skipped before the handler runs. Two deliveries of one message can still run the
 * handler at the same time (a redelivery while the first is in flight), so the external call must
 * be idempotent by itself (e.g. a PSP idempotency key derived from our ids); the second `record`
 * finds the inbox row, writes nothing and the delivery counts as a duplicate. A handler that
 * returns without calling `record` (nothing to write) has its inbox row written alone.
 */
export interface ExternalEffectConsumerDefinition<T = unknown> extends ConsumerBase<T> {
  handleOutsideTransaction(event: DomainEvent<T>, record: RecordInTransaction, ctx: ConsumerContext): Promise<void>;
  handle?: never;
  handleBatch?: never;
  batchable?: false;
  batchConcurrency?: never;
}

export type ConsumerDefinition<T = unknown> = TransactionalConsumerDefinition<T> | ExternalEffectConsumerDefinition<T>;

export function defineConsumer<T>(definition: TransactionalConsumerDefinition<T>): TransactionalConsumerDefinition<T>;
export function defineConsumer<T>(definition: ExternalEffectConsumerDefinition<T>): ExternalEffectConsumerDefinition<T>;
export function defineConsumer<T>(definition: ConsumerDefinition<T>): ConsumerDefinition<T> {
  // Validates the names and the handler now, at import time, rather than when the service connects.
  consumerTopology('x', definition.name, definition.routingKeys);
  checkHandlers(definition);
  return Object.freeze({ ...definition });
}

function checkHandlers(definition: ConsumerDefinition<unknown>): void {
  const { name } = definition;
  if ((definition.handle === undefined) === (definition.handleOutsideTransaction === undefined)) {
    throw new Error(`consumer ${name} needs exactly one of handle and handleOutsideTransaction`);
  }
  if (definition.handleOutsideTransaction && (definition.batchable || definition.batchConcurrency !== undefined)) {
    throw new Error(`consumer ${name}: a handler outside the transaction cannot be batched`);
  }
}

export interface StartConsumersOptions {
  connection: Connection;
  db: TransactionalDb;
  prefix: string;
  // The handlers are declared as methods, so a ConsumerDefinition<Payment> is assignable here.
  consumers: readonly ConsumerDefinition<unknown>[];
  /** Messages in flight per consumer (prefetch = concurrency). */
  prefetch?: number;
  retryTiersMs?: readonly number[];
  logger: MessagingLogger;
  /** Default for the handler transaction's timeout. */
  handlerTimeoutMs?: number;
  /** Most messages a batchable consumer commits in one transaction (default: prefetch). */
  batchSizeMax?: number;
  /**
   * How long a batchable consumer's first waiting delivery may wait for others before its batch
   * starts (default 0: at once). A batch that reaches batchSizeMax starts without waiting. Under
   * moderate load this turns many one-message transactions into fewer larger ones, for this many
   * milliseconds of added latency.
   */
  batchLingerMs?: number;
  /** Counts each delivery's outcome by consumer (`clearhouse_messages_consumed_total`). */
  metrics?: Pick<MessagingMetrics, 'messagesConsumed'>;
  /** Called after every commit of a handler transaction (e.g. to wake the outbox relay). */
  onCommitted?: () => void;
  /** Test hook: runs after the handler's transaction committed and before the ack. */
  afterCommitForTest?: (event: DomainEvent<unknown>, consumer: string) => Promise<void> | void;
}

export interface RunningConsumers {
  /** Each consumer's work queue and dead-letter queue (for the queue-depth gauges). */
  readonly queues: readonly WatchedQueues[];
  /** Stops taking messages, lets in-flight handlers finish, closes the channels. */
  stop(): Promise<void>;
}

const PREFETCH_DEFAULT = 10;
const PREFETCH_MAX = 500;
const HANDLER_TIMEOUT_MS_DEFAULT = 15_000;
const BATCH_CONCURRENCY_MAX = 16;
const BATCH_LINGER_MS_MAX = 10_000;

type Outcome = 'handled' | 'duplicate';

/** Thrown out of `record` when another delivery of the message recorded it first: nothing is written. */
class DuplicateDelivery extends Error {
  constructor() {
    super('the message was handled by another delivery');
    this.name = 'DuplicateDelivery';
  }
}

interface PendingMessage {
  readonly event: DomainEvent<unknown>;
  readonly ctx: ConsumerContext;
  readonly resolve: (outcome: Outcome) => void;
  readonly reject: (error: unknown) => void;
  /** performance.now() when it was queued. */
  readonly queuedAt: number;
}

/** One batchable consumer's queue of parsed messages waiting for the next transaction. */
interface Batcher {
  readonly waiting: PendingMessage[];
  inFlight: number;
  readonly concurrency: number;
  /** Armed while the first waiting delivery lingers for company. */
  lingerTimer: NodeJS.Timeout | null;
}

export async function startConsumers(options: StartConsumersOptions): Promise<RunningConsumers> {
  const { connection, db, prefix, logger } = options;
  const prefetch = options.prefetch ?? PREFETCH_DEFAULT;
  if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > PREFETCH_MAX) throw new Error(`prefetch must be 1..${PREFETCH_MAX}`);
  const retryTiersMs = options.retryTiersMs ?? DEFAULT_RETRY_TIERS_MS;
  const names = new Set(options.consumers.map((c) => c.name));
  if (names.size !== options.consumers.length) throw new Error('consumer names must be unique');
  for (const definition of options.consumers) {
    checkHandlers(definition);
    const concurrency = definition.batchConcurrency ?? 1;
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > BATCH_CONCURRENCY_MAX) throw new Error(`batchConcurrency of ${definition.name} must be 1..${BATCH_CONCURRENCY_MAX}`);
  }

  const batchSizeMax = options.batchSizeMax ?? prefetch;
  if (!Number.isInteger(batchSizeMax) || batchSizeMax < 1 || batchSizeMax > PREFETCH_MAX) throw new Error(`batchSizeMax must be 1..${PREFETCH_MAX}`);
  const batchLingerMs = options.batchLingerMs ?? 0;
  if (!(batchLingerMs >= 0 && batchLingerMs <= BATCH_LINGER_MS_MAX)) throw new Error(`batchLingerMs must be 0..${BATCH_LINGER_MS_MAX}`);
  const batchers = new Map<string, Batcher>();
  const publisher = new ConfirmPublisher(connection);
  const running: Consumer[] = [];
  const queues: WatchedQueues[] = [];
  const consumed = options.metrics?.messagesConsumed;
  try {
    for (const definition of options.consumers) {
      const topology = consumerTopology(prefix, definition.name, definition.routingKeys, retryTiersMs);
      const declared = await declareConsumerTopology(connection, topology);
      if (declared.outdatedDeadLetterQueue) {
        logger.warn(
          { consumer: definition.name, deadLetterQueue: topology.deadLetterQueue },
          'dead-letter queue declared by an earlier version without an explicit delivery limit: on RabbitMQ 4.0-4.2 its messages are dropped after 20 listings; set a delivery-limit policy on it or delete it once empty',
        );
      }
      running.push(startOne(definition, topology));
      queues.push({ consumer: definition.name, queue: topology.queue, deadLetterQueue: topology.deadLetterQueue });
    }
  } catch (err) {
    await Promise.allSettled(running.map((c) => c.close()));
    await publisher.close();
    throw err;
  }

  function startOne(definition: ConsumerDefinition<unknown>, topology: ConsumerTopology): Consumer {
    const consumer = connection.createConsumer(
      {
        queue: topology.queue,
        // Re-declared with identical arguments whenever the channel is re-created.
        queueOptions: workQueueDeclaration(topology.queue),
        qos: { prefetchCount: prefetch },
        concurrency: prefetch,
        // Only a failure to republish (broker trouble) reaches the library; put the message
        // back so it is not lost. Handler failures never do: they are routed to tiers or the DLQ.
        requeue: true,
      },
      (msg) => onMessage(definition, topology, msg),
    );
    consumer.on('error', (err) => logger.error({ err, consumer: definition.name }, 'consumer error'));
    return consumer;
  }

  async function onMessage(definition: ConsumerDefinition<unknown>, topology: ConsumerTopology, msg: AsyncMessage): Promise<ConsumerStatus> {
    const attempt = readAttempt(msg.headers);
    const history = readHistory(msg.headers);
    let event: DomainEvent<unknown>;
    try {
      event = decodeEnvelope(msg.body);
    } catch (err) {
      // Poison: no attempt can parse it, so it is parked now and never enters a retry tier.
      await park(topology, msg, err, attempt, history);
      consumed?.inc({ consumer: definition.name, outcome: 'dead_lettered' });
      return ConsumerStatus.ACK;
    }
    const ctx: ConsumerContext = { consumer: definition.name, queue: topology.queue, attempt, redelivered: msg.redelivered, logger };
    let outcome: Outcome;
    try {
      const payload = definition.schema ? definition.schema.parse(event.payload) : event.payload;
      const parsed = { ...event, payload };
      outcome = definition.batchable ? await enqueue(definition, parsed, ctx) : await withCorrelationId(event.correlationId, () => handleOnce(definition, parsed, ctx));
    } catch (err) {
      const failure = await onFailure(topology, msg, err, attempt, history, event);
      consumed?.inc({ consumer: definition.name, outcome: failure });
      return ConsumerStatus.ACK;
    }
    consumed?.inc({ consumer: definition.name, outcome: outcome === 'duplicate' ? 'duplicate' : 'handled' });
    if (outcome === 'duplicate') logger.debug({ consumer: definition.name, messageId: event.messageId }, 'duplicate delivery skipped');
    await options.afterCommitForTest?.(event, definition.name);
    return ConsumerStatus.ACK;
  }

  function transactionOptions(definition: ConsumerDefinition<unknown>): TransactionOptions {
    return { timeout: options.handlerTimeoutMs ?? HANDLER_TIMEOUT_MS_DEFAULT, ...definition.transaction };
  }

  /** Records the message id and runs the handler in one transaction: a redelivery is a no-op. */
  async function handleOnce(definition: ConsumerDefinition<unknown>, event: DomainEvent<unknown>, ctx: ConsumerContext): Promise<Outcome> {
    if (definition.handleOutsideTransaction) return handleOutsideTransaction(definition, event, ctx);
    const outcome = await db.$transaction(async (tx) => {
      const inserted = await tx.$executeRawUnsafe(
        `INSERT INTO inbox_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
        definition.name,
        event.messageId,
      );
      if (inserted === 0) return 'duplicate' as const;
      await definition.handle(event, tx, ctx);
      return 'handled' as const;
    }, transactionOptions(definition));
    options.onCommitted?.();
    return outcome;
  }

  /** See ExternalEffectConsumerDefinition: the handler first, with no transaction open; its writes and the inbox row in one. */
  async function handleOutsideTransaction(definition: ExternalEffectConsumerDefinition<unknown>, event: DomainEvent<unknown>, ctx: ConsumerContext): Promise<Outcome> {
    const seen = await db.$queryRawUnsafe<unknown[]>(`SELECT 1 FROM inbox_messages WHERE consumer = $1 AND message_id = $2`, definition.name, event.messageId);
    if (seen.length > 0) return 'duplicate';
    const recordInbox = (client: SqlClient) =>
      client.$executeRawUnsafe(`INSERT INTO inbox_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`, definition.name, event.messageId);
    let recorded = false;
    const record: RecordInTransaction = async (fn) => {
      if (recorded) throw new Error(`consumer ${definition.name}: record() runs at most once per delivery`);
      recorded = true;
      return db.$transaction(async (tx) => {
        if ((await recordInbox(tx)) === 0) throw new DuplicateDelivery();
        return fn(tx);
      }, transactionOptions(definition));
    };
    try {
      await definition.handleOutsideTransaction(event, record, ctx);
    } catch (error) {
      if (error instanceof DuplicateDelivery) return 'duplicate';
      throw error;
    }
    if (!recorded && (await recordInbox(db)) === 0) return 'duplicate';
    options.onCommitted?.();
    return 'handled';
  }

  /** Queues a parsed message for its consumer's next batch; settles when that batch commits. */
  function enqueue(definition: TransactionalConsumerDefinition<unknown>, event: DomainEvent<unknown>, ctx: ConsumerContext): Promise<Outcome> {
    let batcher = batchers.get(definition.name);
    if (!batcher) {
      batcher = { waiting: [], inFlight: 0, concurrency: definition.batchConcurrency ?? 1, lingerTimer: null };
      batchers.set(definition.name, batcher);
    }
    const queued = batcher;
    const settled = new Promise<Outcome>((resolve, reject) => queued.waiting.push({ event, ctx, resolve, reject, queuedAt: performance.now() }));
    pump(definition, queued);
    return settled;
  }

  /**
   * Starts batches while messages wait and a slot is free: one transaction per batch. With a
   * linger, a batch short of batchSizeMax starts only once its oldest message waited that long.
   */
  function pump(definition: TransactionalConsumerDefinition<unknown>, batcher: Batcher): void {
    while (batcher.waiting.length > 0 && batcher.inFlight < batcher.concurrency) {
      const [oldest] = batcher.waiting as [PendingMessage];
      const lingerLeftMs = batchLingerMs - (performance.now() - oldest.queuedAt);
      if (batcher.waiting.length < batchSizeMax && lingerLeftMs > 0) {
        batcher.lingerTimer ??= setTimeout(() => {
          batcher.lingerTimer = null;
          pump(definition, batcher);
        }, Math.ceil(lingerLeftMs));
        return;
      }
      if (batcher.lingerTimer) {
        clearTimeout(batcher.lingerTimer);
        batcher.lingerTimer = null;
      }
      const batch = batcher.waiting.splice(0, batchSizeMax);
      batcher.inFlight++;
      void runBatch(definition, batch)
        .catch((error: unknown) => batch.forEach((pending) => pending.reject(error)))
        .finally(() => {
          batcher.inFlight--;
          pump(definition, batcher);
        });
    }
  }

  async function runBatch(definition: TransactionalConsumerDefinition<unknown>, batch: readonly PendingMessage[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [PendingMessage];
      await withCorrelationId(only.event.correlationId, () => handleOnce(definition, only.event, only.ctx)).then(only.resolve, only.reject);
      return;
    }
    let outcomes: Outcome[];
    try {
      outcomes = await db.$transaction(async (tx) => {
        // One statement records every message id; the ids it returns are the first deliveries.
        const fresh = await tx.$queryRawUnsafe<{ message_id: string }[]>(
          `INSERT INTO inbox_messages (consumer, message_id) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING RETURNING message_id`,
          definition.name,
          batch.map((pending) => pending.event.messageId),
        );
        const unhandled = new Set(fresh.map((row) => row.message_id));
        const results: Outcome[] = batch.map((pending) => (unhandled.delete(pending.event.messageId) ? 'handled' : 'duplicate'));
        const firsts = batch.filter((_, index) => results[index] === 'handled');
        if (definition.handleBatch && firsts.length > 1) {
          await definition.handleBatch(
            firsts.map((pending) => pending.event),
            tx,
            firsts.map((pending) => pending.ctx),
          );
        } else {
          for (const pending of firsts) await withCorrelationId(pending.event.correlationId, () => definition.handle(pending.event, tx, pending.ctx));
        }
        return results;
      }, transactionOptions(definition));
    } catch {
      // Nothing of the batch committed: each message runs again alone, so only the one that
      // fails meets the retry tiers or the dead-letter queue (and a lost lock race just retries).
      await Promise.all(batch.map((pending) => withCorrelationId(pending.event.correlationId, () => handleOnce(definition, pending.event, pending.ctx)).then(pending.resolve, pending.reject)));
      return;
    }
    options.onCommitted?.();
    batch.forEach((pending, index) => pending.resolve(outcomes[index] ?? 'handled'));
  }

  async function onFailure(
    topology: ConsumerTopology,
    msg: AsyncMessage,
    err: unknown,
    attempt: number,
    history: readonly AttemptRecord[],
    event: DomainEvent<unknown>,
  ): Promise<'retry_scheduled' | 'dead_lettered'> {
    const failureClass = classifyError(err);
    const record: AttemptRecord = { attempt, error: describeError(err), at: new Date().toISOString() };
    const tier = failureClass === 'retryable' ? topology.retryQueues[attempt - 1] : undefined;
    const logFields = { err, consumer: topology.queue, messageId: event.messageId, correlationId: event.correlationId, attempt, failureClass };
    if (tier) {
      // Confirmed publish to the tier BEFORE the ack (our caller returns ACK afterwards): if
      // the publish fails, the error reaches rabbitmq-client, which requeues the original.
      await publisher.publish(republishEnvelope(msg, tier.queue, retryHeaders(attempt + 1, [...history, record])), rawBody(msg.body));
      logger.warn({ ...logFields, retryInMs: tier.delayMs }, 'handler failed; retrying later');
      return 'retry_scheduled';
    }
    await publisher.publish(
      republishEnvelope(msg, topology.deadLetterQueue, deadLetterHeaders(topology.queue, attempt, record.error, [...history, record])),
      rawBody(msg.body),
    );
    logger.error(logFields, 'handler failed; message parked in the dead-letter queue');
    return 'dead_lettered';
  }

  async function park(topology: ConsumerTopology, msg: AsyncMessage, err: unknown, attempt: number, history: readonly AttemptRecord[]): Promise<void> {
    const record: AttemptRecord = { attempt, error: describeError(err), at: new Date().toISOString() };
    await publisher.publish(
      republishEnvelope(msg, topology.deadLetterQueue, deadLetterHeaders(topology.queue, attempt, record.error, [...history, record])),
      rawBody(msg.body),
    );
    logger.error({ err, consumer: topology.queue, messageId: msg.messageId }, 'poison message parked in the dead-letter queue');
  }

  return {
    queues,
    async stop() {
      await Promise.allSettled(running.map((c) => c.close()));
      await publisher.close();
    },
  };
}
