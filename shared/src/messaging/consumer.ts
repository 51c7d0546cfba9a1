import type { AsyncMessage, Connection, Consumer } from 'rabbitmq-client';
import { ConsumerStatus } from 'rabbitmq-client';
import type { z } from 'zod';
import { withCorrelationId } from '../logging/index.js';
import type { DomainEvent } from './envelope.js';
import { decodeEnvelope } from './envelope.js';
import { classifyError, describeError } from './failures.js';
import type { MessagingLogger } from './logger.js';
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

export interface ConsumerDefinition<T = unknown> {
  /** Unique per service; names the queue (`${prefix}.${name}`) and the inbox rows. */
  name: string;
  routingKeys: readonly string[];
  /** Validates (and may transform) the payload; a payload it rejects is parked at once. */
  schema?: z.ZodType<T>;
  /** Options of the handler's transaction (e.g. Serializable isolation). */
  transaction?: TransactionOptions;
  handle(event: DomainEvent<T>, tx: SqlClient, ctx: ConsumerContext): Promise<void>;
}

export function defineConsumer<T>(definition: ConsumerDefinition<T>): ConsumerDefinition<T> {
  // Validates the names now, at import time, rather than when the service connects.
  consumerTopology('x', definition.name, definition.routingKeys);
  return Object.freeze({ ...definition });
}

export interface StartConsumersOptions {
  connection: Connection;
  db: TransactionalDb;
  prefix: string;
  // `handle` is declared as a method, so a ConsumerDefinition<Payment> is assignable here.
  consumers: readonly ConsumerDefinition<unknown>[];
  /** Messages in flight per consumer (prefetch = concurrency). */
  prefetch?: number;
  retryTiersMs?: readonly number[];
  logger: MessagingLogger;
  /** Default for the handler transaction's timeout. */
  handlerTimeoutMs?: number;
  /** Test hook: runs after the handler's transaction committed and before the ack. */
  afterCommitForTest?: (event: DomainEvent<unknown>, consumer: string) => Promise<void> | void;
}

export interface RunningConsumers {
  /** Stops taking messages, lets in-flight handlers finish, closes the channels. */
  stop(): Promise<void>;
}

const PREFETCH_DEFAULT = 10;
const PREFETCH_MAX = 500;
const HANDLER_TIMEOUT_MS_DEFAULT = 15_000;

type Outcome = 'handled' | 'duplicate';

export async function startConsumers(options: StartConsumersOptions): Promise<RunningConsumers> {
  const { connection, db, prefix, logger } = options;
  const prefetch = options.prefetch ?? PREFETCH_DEFAULT;
  if (!Number.isInteger(prefetch) || prefetch < 1 || prefetch > PREFETCH_MAX) throw new Error(`prefetch must be 1..${PREFETCH_MAX}`);
  const retryTiersMs = options.retryTiersMs ?? DEFAULT_RETRY_TIERS_MS;
  const names = new Set(options.consumers.map((c) => c.name));
  if (names.size !== options.consumers.length) throw new Error('consumer names must be unique');

  const publisher = new ConfirmPublisher(connection);
  const running: Consumer[] = [];
  try {
    for (const definition of options.consumers) {
      const topology = consumerTopology(prefix, definition.name, definition.routingKeys, retryTiersMs);
      await declareConsumerTopology(connection, topology);
      running.push(startOne(definition, topology));
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
      return ConsumerStatus.ACK;
    }
    const ctx: ConsumerContext = { consumer: definition.name, queue: topology.queue, attempt, redelivered: msg.redelivered, logger };
    let outcome: Outcome;
    try {
      const payload = definition.schema ? definition.schema.parse(event.payload) : event.payload;
      outcome = await withCorrelationId(event.correlationId, () => handleOnce(definition, { ...event, payload }, ctx));
    } catch (err) {
      await onFailure(topology, msg, err, attempt, history, event);
      return ConsumerStatus.ACK;
    }
    if (outcome === 'duplicate') logger.debug({ consumer: definition.name, messageId: event.messageId }, 'duplicate delivery skipped');
    await options.afterCommitForTest?.(event, definition.name);
    return ConsumerStatus.ACK;
  }

  /** Records the message id and runs the handler in one transaction: a redelivery is a no-op. */
  async function handleOnce(definition: ConsumerDefinition<unknown>, event: DomainEvent<unknown>, ctx: ConsumerContext): Promise<Outcome> {
    return db.$transaction(
      async (tx) => {
        const inserted = await tx.$executeRawUnsafe(
          `INSERT INTO inbox_messages (consumer, message_id) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
          definition.name,
          event.messageId,
        );
        if (inserted === 0) return 'duplicate';
        await definition.handle(event, tx, ctx);
        return 'handled';
      },
      { timeout: options.handlerTimeoutMs ?? HANDLER_TIMEOUT_MS_DEFAULT, ...definition.transaction },
    );
  }

  async function onFailure(
    topology: ConsumerTopology,
    msg: AsyncMessage,
    err: unknown,
    attempt: number,
    history: readonly AttemptRecord[],
    event: DomainEvent<unknown>,
  ): Promise<void> {
    const failureClass = classifyError(err);
    const record: AttemptRecord = { attempt, error: describeError(err), at: new Date().toISOString() };
    const tier = failureClass === 'retryable' ? topology.retryQueues[attempt - 1] : undefined;
    const logFields = { err, consumer: topology.queue, messageId: event.messageId, correlationId: event.correlationId, attempt, failureClass };
    if (tier) {
      // Confirmed publish to the tier BEFORE the ack (our caller returns ACK afterwards): if
      // the publish fails, the error reaches rabbitmq-client, which requeues the original.
      await publisher.publish(republishEnvelope(msg, tier.queue, retryHeaders(attempt + 1, [...history, record])), rawBody(msg.body));
      logger.warn({ ...logFields, retryInMs: tier.delayMs }, 'handler failed; retrying later');
      return;
    }
    await publisher.publish(
      republishEnvelope(msg, topology.deadLetterQueue, deadLetterHeaders(topology.queue, attempt, record.error, [...history, record])),
      rawBody(msg.body),
    );
    logger.error(logFields, 'handler failed; message parked in the dead-letter queue');
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
    async stop() {
      await Promise.allSettled(running.map((c) => c.close()));
      await publisher.close();
    },
  };
}
