import { AMQPChannelError, type Connection } from 'rabbitmq-client';
import { BROKER_PREFIX_PATTERN, eventsExchangeName } from '../config/index.js';

export const DEFAULT_BROKER_PREFIX = 'clearhouse';

/** Delay tiers of the retry queues, shortest first. One attempt per tier, then the DLQ. */
export const DEFAULT_RETRY_TIERS_MS: readonly number[] = Object.freeze([1000, 2000, 4000, 8000, 16000]);

const RETRY_TIERS_COUNT_MAX = 10;
const RETRY_TIER_MS_MAX = 24 * 60 * 60 * 1000;
const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

export { eventsExchangeName };

export function assertBrokerPrefix(prefix: string): void {
  if (!BROKER_PREFIX_PATTERN.test(prefix)) throw new Error(`invalid broker prefix '${prefix}' (must match ${BROKER_PREFIX_PATTERN})`);
}

export function consumerQueueName(prefix: string, consumerName: string): string {
  return `${prefix}.${consumerName}`;
}

export function retryQueueName(queue: string, delayMs: number): string {
  return `${queue}.retry.${delayMs}ms`;
}

export function deadLetterQueueName(queue: string): string {
  return `${queue}.dlq`;
}

export const DEAD_LETTER_SUFFIX = '.dlq';

/** The work queue a DLQ belongs to (replays go back there). */
export function queueOfDeadLetterQueue(dlq: string): string {
  if (!dlq.endsWith(DEAD_LETTER_SUFFIX)) throw new Error(`'${dlq}' is not a dead-letter queue name`);
  return dlq.slice(0, -DEAD_LETTER_SUFFIX.length);
}

export function assertName(name: string, what: string): void {
  if (!NAME_PATTERN.test(name) || name.length > 200) throw new Error(`invalid ${what} '${name}'`);
}

export function validateRetryTiers(retryTiersMs: readonly number[]): readonly number[] {
  if (retryTiersMs.length > RETRY_TIERS_COUNT_MAX) throw new Error(`at most ${RETRY_TIERS_COUNT_MAX} retry tiers`);
  for (const delayMs of retryTiersMs) {
    if (!Number.isInteger(delayMs) || delayMs <= 0 || delayMs > RETRY_TIER_MS_MAX) {
      throw new Error(`retry tier ${delayMs} ms must be a positive integer of at most ${RETRY_TIER_MS_MAX} ms`);
    }
  }
  if (new Set(retryTiersMs).size !== retryTiersMs.length) throw new Error('retry tiers must be distinct');
  return retryTiersMs;
}

export const EXCHANGE_TYPE = 'topic';

export function eventsExchangeDeclaration(exchange: string) {
  return { exchange, type: EXCHANGE_TYPE, durable: true } as const;
}

/** Quorum queues: replicated and durable; the kit's work queues and DLQs are all of this type. */
export function quorumQueueDeclaration(queue: string) {
  return { queue, durable: true, arguments: { 'x-queue-type': 'quorum' as const } };
}

/**
 * Returns of one message to a DLQ before the broker would drop it (a DLQ has no dead-letter
 * target of its own). Its only readers are the operator commands (dead-letters.ts), which take
 * each message they look at and return it (basic.nack, requeue); a crash mid-walk returns them
 * too. Left unset, RabbitMQ 4.x applies its default of 20, and 4.0-4.2 count every return
 * against it: the 21st listing would silently drop every dead letter. Not -1
 * ("unlimited" on 4.x): RabbitMQ 3.x takes it literally and drops a message on its first
 * return. A million walks over one letter is out of reach; 3.x stays as it was in practice.
 */
export const DEAD_LETTER_DELIVERY_LIMIT = 1_000_000;

/** A consumer's DLQ: quorum, with its delivery limit explicit (see DEAD_LETTER_DELIVERY_LIMIT). */
export function deadLetterQueueDeclaration(queue: string) {
  return { queue, durable: true, arguments: { 'x-queue-type': 'quorum' as const, 'x-delivery-limit': DEAD_LETTER_DELIVERY_LIMIT } };
}

/**
 * Deliveries of one message to a work queue before the broker itself parks it. The kit acks
 * every message it handled or routed to a tier, so only messages that never get that far
 * count: a message that crashes the consumer process, or one whose retry publish keeps failing.
 * Without this bound such a message would be redelivered forever.
 */
export const DELIVERY_LIMIT = 50;

/** A consumer's work queue: quorum, with the broker-side delivery bound feeding its DLQ. */
export function workQueueDeclaration(queue: string) {
  return {
    queue,
    durable: true,
    arguments: {
      'x-queue-type': 'quorum' as const,
      'x-delivery-limit': DELIVERY_LIMIT,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': deadLetterQueueName(queue),
    },
  };
}

/**
 * A retry tier: messages wait `delayMs` (queue-level TTL, so every message in the queue expires
 * in arrival order and none waits behind a longer-lived one), then RabbitMQ dead-letters them
 * through the default exchange straight into `queue`. The tiers are per consumer queue rather
 * than shared: a shared tier could only send the message back through the topic exchange by its
 * routing key, which would deliver it again to every other consumer bound to that key, including
 * those that already handled it. Classic queues suffice for tiers (they hold each message for
 * seconds, and TTL dead-lettering is their home ground); they are still durable and the messages
 * persistent, because a tier holds the only copy while it waits.
 */
export function retryQueueDeclaration(queue: string, delayMs: number) {
  return {
    queue: retryQueueName(queue, delayMs),
    durable: true,
    arguments: {
      'x-queue-type': 'classic' as const,
      'x-message-ttl': delayMs,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': queue,
    },
  };
}

export interface ConsumerTopology {
  exchange: string;
  queue: string;
  routingKeys: readonly string[];
  retryQueues: readonly { delayMs: number; queue: string }[];
  deadLetterQueue: string;
}

export function consumerTopology(
  prefix: string,
  consumerName: string,
  routingKeys: readonly string[],
  retryTiersMs: readonly number[] = DEFAULT_RETRY_TIERS_MS,
): ConsumerTopology {
  assertBrokerPrefix(prefix);
  assertName(consumerName, 'consumer name');
  if (routingKeys.length === 0) throw new Error(`consumer '${consumerName}' has no routing keys`);
  validateRetryTiers(retryTiersMs);
  const queue = consumerQueueName(prefix, consumerName);
  return {
    exchange: eventsExchangeName(prefix),
    queue,
    routingKeys,
    retryQueues: retryTiersMs.map((delayMs) => ({ delayMs, queue: retryQueueName(queue, delayMs) })),
    deadLetterQueue: deadLetterQueueName(queue),
  };
}

type TopologyConnection = Pick<Connection, 'exchangeDeclare' | 'queueDeclare' | 'queueBind'>;

/** Declares the events exchange. Idempotent; publishers call it before their first publish. */
export async function declareTopology(connection: TopologyConnection, prefix: string): Promise<{ exchange: string }> {
  assertBrokerPrefix(prefix);
  const exchange = eventsExchangeName(prefix);
  await connection.exchangeDeclare(eventsExchangeDeclaration(exchange));
  return { exchange };
}

/** The broker's answer to declaring an existing queue with an `x-delivery-limit` it was not created with. */
function isDeliveryLimitMismatch(error: unknown): boolean {
  return error instanceof AMQPChannelError && error.code === 'PRECONDITION_FAILED' && error.message.includes("inequivalent arg 'x-delivery-limit'");
}

/**
 * Declares a consumer's DLQ. One declared by an earlier version of the kit (quorum, no delivery
 * limit) cannot be given the argument in place (the broker refuses a re-declaration with other
 * arguments) and may hold dead letters, so it is kept as it is and reported: `outdated`.
 */
async function declareDeadLetterQueue(connection: TopologyConnection, queue: string): Promise<{ outdated: boolean }> {
  try {
    await connection.queueDeclare(deadLetterQueueDeclaration(queue));
    return { outdated: false };
  } catch (error) {
    if (!isDeliveryLimitMismatch(error)) throw error;
    await connection.queueDeclare({ queue, passive: true });
    return { outdated: true };
  }
}

export interface DeclaredConsumerTopology {
  /**
   * The DLQ exists without an explicit delivery limit (declared by an earlier version): on
   * RabbitMQ 4.0-4.2 its messages are dropped after 20 returns, i.e. listings. Set a `delivery-limit`
   * policy on it, or delete it once empty so the next start declares it anew.
   */
  outdatedDeadLetterQueue: boolean;
}

/** Declares one consumer's queue, bindings, retry tiers and DLQ. Idempotent. */
export async function declareConsumerTopology(connection: TopologyConnection, topology: ConsumerTopology): Promise<DeclaredConsumerTopology> {
  await connection.exchangeDeclare(eventsExchangeDeclaration(topology.exchange));
  // The DLQ first: the work queue dead-letters into it.
  const deadLetterQueue = await declareDeadLetterQueue(connection, topology.deadLetterQueue);
  await connection.queueDeclare(workQueueDeclaration(topology.queue));
  for (const routingKey of topology.routingKeys) {
    await connection.queueBind({ queue: topology.queue, exchange: topology.exchange, routingKey });
  }
  for (const tier of topology.retryQueues) {
    await connection.queueDeclare(retryQueueDeclaration(topology.queue, tier.delayMs));
  }
  return { outdatedDeadLetterQueue: deadLetterQueue.outdated };
}
