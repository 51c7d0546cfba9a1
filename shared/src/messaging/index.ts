// The messaging kit: domain-event envelope, topology, transactional outbox relay, idempotent
// consumers with tiered retries and dead-letter queues, and the operators' dead-letter tools.
export type { DomainEvent } from './envelope.js';
export {
  newEvent, decodeEnvelope, encodeEnvelope, eventProperties, PoisonMessageError, EVENT_CONTENT_TYPE,
  HEADER_SCHEMA_VERSION, HEADER_ATTEMPT, HEADER_HISTORY, HEADER_ERROR, HEADER_ATTEMPTS, HEADER_FAILED_AT,
  HEADER_ROUTING_KEY, HEADER_QUEUE, HEADER_REPLAYED_AT,
} from './envelope.js';
export type { SqlClient, TransactionalDb, TransactionOptions, TransactionIsolationLevel } from './sql.js';
export type { MessagingLogger } from './logger.js';
export { silentLogger } from './logger.js';
export type { FailureClass } from './failures.js';
export { RetryableError, NonRetryableError, classifyError, describeError } from './failures.js';
export type { ConsumerTopology, DeclaredConsumerTopology } from './topology.js';
export {
  DEFAULT_BROKER_PREFIX, DEFAULT_RETRY_TIERS_MS, DEAD_LETTER_SUFFIX, assertBrokerPrefix,
  consumerQueueName, retryQueueName, deadLetterQueueName, queueOfDeadLetterQueue, consumerTopology, declareTopology,
  declareConsumerTopology, workQueueDeclaration, retryQueueDeclaration, quorumQueueDeclaration, deadLetterQueueDeclaration, DELIVERY_LIMIT, DEAD_LETTER_DELIVERY_LIMIT,
} from './topology.js';
export { ConfirmPublisher, UnroutableError } from './publisher.js';
export type { OutboxRelay, OutboxRelayOptions } from './outbox.js';
export { writeOutbox, writeOutboxBatch, outboxBatchInsert, createOutboxRelay, RelayCrashForTest } from './outbox.js';
export type { AttemptRecord } from './retry.js';
export type { ConsumerContext, ConsumerDefinition, TransactionalConsumerDefinition, ExternalEffectConsumerDefinition, RecordInTransaction, StartConsumersOptions, RunningConsumers } from './consumer.js';
export { defineConsumer, startConsumers } from './consumer.js';
export type { DeadLetter, ReplayResult } from './dead-letters.js';
export { listDeadLetters, showDeadLetter, replayDeadLetters, queueDepth, DEAD_LETTER_SCAN_MAX } from './dead-letters.js';
export { listQueueNames } from './management.js';
export type { MessagingMetrics, ConsumedOutcome, WatchedQueues } from './metrics.js';
export { messagingMetrics, registerOutboxBacklog, registerQueueDepths } from './metrics.js';
export { startServiceMessaging, SERVICE_CONSUMER_BATCH_LINGER_MS, type ServiceMessaging } from './service.js';
export type { MessagingRetention } from './retention.js';
export {
  deleteExpiredMessages, OUTBOX_RETENTION_MS_MIN, OUTBOX_RETENTION_MS_DEFAULT, INBOX_RETENTION_MS_MIN, INBOX_RETENTION_MS_DEFAULT,
  MESSAGING_CLEANUP_INTERVAL_MS,
} from './retention.js';
