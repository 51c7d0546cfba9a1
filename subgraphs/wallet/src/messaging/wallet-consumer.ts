// The shapes the wallet's consumers share: parse the versioned payload, map it onto wallet
// changes (domain), apply them in the consumer's transaction (the kit wrote the inbox row in the
// same one). Failure classes: a payout reservation that does not fit yet (INSUFFICIENT_FUNDS) or a
// settlement whose reservation is not there yet (RESERVATION_NOT_HELD) may be events arriving out
// of order across queues, so they are retried through the bounded tiers and then parked; every
// other rule violation is parked at once.
import type { DomainEvent, EventKey, EventPayload, SqlClient, TransactionalConsumerDefinition } from '@clearhouse/shared';
import { EVENT_SCHEMAS, NonRetryableError, RetryableError, defineConsumer } from '@clearhouse/shared';
import type { z } from 'zod';
import { WalletRuleError } from '../domain/index.js';
import { applyWalletChangeBatch, type CausedChanges } from '../application/apply-changes.js';

export interface WalletConsumerSpec<K extends EventKey> {
  /** Consumer (and queue) name, e.g. 'wallet.payment-succeeded'. */
  readonly name: string;
  readonly eventKey: K;
  readonly apply: (tx: SqlClient, payload: EventPayload<K>, event: DomainEvent<EventPayload<K>>) => Promise<unknown>;
}

export interface WalletChangeConsumerSpec<K extends EventKey> {
  /** Consumer (and queue) name, e.g. 'wallet.payment-succeeded'. */
  readonly name: string;
  readonly eventKey: K;
  /** The wallet changes the event makes and their cause (pure). */
  readonly changesOf: (payload: EventPayload<K>, event: DomainEvent<EventPayload<K>>) => CausedChanges;
}

const RETRYABLE_RULES = new Set(['INSUFFICIENT_FUNDS', 'RESERVATION_NOT_HELD']);

async function classifyingRuleErrors(work: () => Promise<unknown>): Promise<void> {
  try {
    await work();
  } catch (error) {
    if (error instanceof WalletRuleError) {
      const message = `${error.code}: ${error.message}`;
      throw RETRYABLE_RULES.has(error.code) ? new RetryableError(message) : new NonRetryableError(message);
    }
    throw error;
  }
}

/** What every wallet consumer shares: its queue, routing key and payload schema; batchable (wallet changes live in the database only, so deliveries that arrive together share a commit). */
function walletConsumerBase<K extends EventKey>(name: string, eventKey: K) {
  const [routingKey] = eventKey.split('@') as [string];
  return { name, routingKeys: [routingKey], schema: EVENT_SCHEMAS[eventKey] as unknown as z.ZodType<EventPayload<K>>, batchable: true } as const;
}

/** A consumer with more to do than move balances (payout reservations): one event at a time. */
export function walletConsumer<K extends EventKey>(spec: WalletConsumerSpec<K>): TransactionalConsumerDefinition<EventPayload<K>> {
  return defineConsumer<EventPayload<K>>({
    ...walletConsumerBase(spec.name, spec.eventKey),
    handle: (event, tx) => classifyingRuleErrors(() => spec.apply(tx, event.payload, event)),
  });
}

/**
 * A consumer whose whole effect is wallet changes: deliveries that arrive together are applied
 * in one set-based pass (applyWalletChangeBatch: four statements per batch). If the batch fails
 * (e.g. one event breaks a rule), the kit rolls it back and runs each message alone through
 * `handle`, so only the bad one is retried or parked.
 */
export function walletChangeConsumer<K extends EventKey>(spec: WalletChangeConsumerSpec<K>): TransactionalConsumerDefinition<EventPayload<K>> {
  return defineConsumer<EventPayload<K>>({
    ...walletConsumerBase(spec.name, spec.eventKey),
    handle: (event, tx) => classifyingRuleErrors(() => applyWalletChangeBatch(tx, [spec.changesOf(event.payload, event)])),
    handleBatch: (events, tx) => classifyingRuleErrors(() => applyWalletChangeBatch(tx, events.map((event) => spec.changesOf(event.payload, event)))),
  });
}
