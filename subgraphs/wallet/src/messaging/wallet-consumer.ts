// The shape the wallet's consumers share: parse the versioned payload, map it onto wallet
// changes (domain), apply them in the consumer's transaction (the kit wrote the inbox row in the
// same one). Failure classes: a payout reservation that does not fit yet (INSUFFICIENT_FUNDS) or a
// settlement whose reservation is not there yet (RESERVATION_NOT_HELD) may be events arriving out
// of order across queues, so they are retried through the bounded tiers and then parked; every
// other rule violation is parked at once.
import type { ConsumerDefinition, DomainEvent, EventKey, EventPayload, SqlClient } from '@clearhouse/shared';
import { EVENT_SCHEMAS, NonRetryableError, RetryableError, defineConsumer } from '@clearhouse/shared';
import type { z } from 'zod';
import { WalletRuleError } from '../domain/index.js';

export interface WalletConsumerSpec<K extends EventKey> {
  /** Consumer (and queue) name, e.g. 'wallet.payment-succeeded'. */
  readonly name: string;
  readonly eventKey: K;
  readonly apply: (tx: SqlClient, payload: EventPayload<K>, event: DomainEvent<EventPayload<K>>) => Promise<unknown>;
}

const RETRYABLE_RULES = new Set(['INSUFFICIENT_FUNDS', 'RESERVATION_NOT_HELD']);

export function walletConsumer<K extends EventKey>(spec: WalletConsumerSpec<K>): ConsumerDefinition<EventPayload<K>> {
  const [routingKey] = spec.eventKey.split('@') as [string];
  return defineConsumer<EventPayload<K>>({
    name: spec.name,
    routingKeys: [routingKey],
    schema: EVENT_SCHEMAS[spec.eventKey] as unknown as z.ZodType<EventPayload<K>>,
    // Wallet changes live in the database only: deliveries that arrive together share a commit.
    batchable: true,
    async handle(event, tx) {
      try {
        await spec.apply(tx, event.payload, event);
      } catch (error) {
        if (error instanceof WalletRuleError) {
          const message = `${error.code}: ${error.message}`;
          throw RETRYABLE_RULES.has(error.code) ? new RetryableError(message) : new NonRetryableError(message);
        }
        throw error;
      }
    },
  });
}
