// The shape every ledger consumer shares: parse the versioned payload, apply the posting rule,
// post in the consumer's transaction (the kit recorded the inbox row in the same one), and
// record the posting on the payment's timeline through the outbox. Rule rejections are
// non-retryable (parked in the DLQ); database trouble is retried by the kit's tiers.
import type { ConsumerDefinition, DomainEvent, EventKey, EventPayload, SqlClient } from '@clearhouse/shared';
import { EVENT_SCHEMAS, NonRetryableError, defineConsumer, formatAmount, newEvent, serializeEventPayload, writeOutbox } from '@clearhouse/shared';
import type { z } from 'zod';
import { PostingRejectedError, postTransactionInTx, type PostingOptions } from '../application/post-transaction.js';
import type { JournalTransactionDraft, PostingContext, PostingResult } from '../domain/index.js';

export type LedgerConsumerOptions = PostingOptions;

export interface PostingConsumerSpec<K extends EventKey> {
  /** Consumer (and queue) name, e.g. 'ledger.payment-succeeded'. */
  readonly name: string;
  readonly eventKey: K;
  readonly rule: (payload: EventPayload<K>, context: PostingContext) => PostingResult;
}

export function postingConsumer<K extends EventKey>(spec: PostingConsumerSpec<K>, options: LedgerConsumerOptions): ConsumerDefinition<EventPayload<K>> {
  const [routingKey] = spec.eventKey.split('@') as [string];
  return defineConsumer<EventPayload<K>>({
    name: spec.name,
    routingKeys: [routingKey],
    schema: EVENT_SCHEMAS[spec.eventKey] as unknown as z.ZodType<EventPayload<K>>,
    async handle(event, tx) {
      const result = spec.rule(event.payload, { causationEventId: event.messageId });
      if (result.kind === 'rejected') throw new NonRetryableError(`${result.error.code}: ${result.error.message}`);
      if (result.kind === 'nothing_to_post') return;
      let outcome;
      try {
        outcome = await postTransactionInTx(tx, result.transaction, options);
      } catch (error) {
        if (error instanceof PostingRejectedError) throw new NonRetryableError(error.message);
        throw error;
      }
      if (outcome.status === 'posted') await recordOnTimeline(tx, event, result.transaction, outcome.transaction.id);
    },
  });
}

/** The payment a posting belongs to, when it belongs to one (payouts and PSP fees do not). */
export function paymentIdOf(draft: JournalTransactionDraft): string | undefined {
  const paymentId = draft.metadata.paymentId;
  return typeof paymentId === 'string' && paymentId.length > 0 ? paymentId : undefined;
}

/** Sum of the debit legs per currency: the amount a posting moved. */
function movedAmounts(draft: JournalTransactionDraft): { currency: string; amountMinor: bigint }[] {
  const byCurrency = new Map<string, bigint>();
  for (const entry of draft.entries) {
    if (entry.direction === 'DEBIT') byCurrency.set(entry.currency, (byCurrency.get(entry.currency) ?? 0n) + entry.amountMinor);
  }
  return [...byCurrency.entries()].map(([currency, amountMinor]) => ({ currency, amountMinor }));
}

async function recordOnTimeline(tx: SqlClient, cause: DomainEvent<unknown>, draft: JournalTransactionDraft, transactionId: string): Promise<void> {
  const paymentId = paymentIdOf(draft);
  if (paymentId === undefined) return;
  const [moved] = movedAmounts(draft);
  const amountText = moved === undefined ? '' : ` ${formatAmount(moved.amountMinor, moved.currency)} ${moved.currency}`;
  const payload = serializeEventPayload('timeline.recorded@1', {
    paymentId,
    source: 'ledger',
    type: 'ledger.posted',
    message: `Ledger posted ${draft.kind}${amountText} (${draft.entries.length} entries)`,
    data: {
      reference: draft.reference,
      kind: draft.kind,
      transactionId,
      amount: moved === undefined ? null : { amountMinor: moved.amountMinor.toString(), currency: moved.currency },
      causationEventId: cause.messageId,
    },
    at: new Date(),
  });
  await writeOutbox(tx, newEvent('timeline.recorded', 1, paymentId, payload));
}
