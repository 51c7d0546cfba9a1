// The shape every ledger consumer shares: parse the versioned payload, apply the posting rule,
// post in the consumer's transaction (the kit recorded the inbox row in the same one), and
// record the posting on the payment's timeline through the outbox. Rule rejections are
// non-retryable (parked in the DLQ); database trouble is retried by the kit's tiers.
import type { ConsumerDefinition, DomainEvent, EventKey, EventPayload, SqlClient } from '@clearhouse/shared';
import { EVENT_SCHEMAS, NonRetryableError, RetryableError, defineConsumer, formatAmount, newEvent, serializeEventPayload, writeOutbox, writeOutboxBatch } from '@clearhouse/shared';
import type { z } from 'zod';
import { PostingRejectedError, postTransactionInTx, postTransactionsInTx, type PostingOptions } from '../application/post-transaction.js';
import { ReversalTargetMissingError } from '../persistence/journal-writer.js';
import { sellerIdOf, type JournalTransactionDraft, type PostingContext, type PostingResult } from '../domain/index.js';

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
    // A posting lives in the database only: deliveries that arrive together share a commit. Two
    // batches at once: ledger_lock_accounts takes every batch's account locks in one global order.
    batchable: true,
    batchConcurrency: 2,
    async handle(event, tx) {
      const result = spec.rule(event.payload, { causationEventId: event.messageId });
      if (result.kind === 'rejected') throw new NonRetryableError(`${result.error.code}: ${result.error.message}`);
      if (result.kind === 'nothing_to_post') return;
      let outcome;
      try {
        outcome = await postTransactionInTx(tx, result.transaction, options);
      } catch (error) {
        if (error instanceof PostingRejectedError) throw new NonRetryableError(error.message);
        if (error instanceof ReversalTargetMissingError) throw new RetryableError(error.message, { cause: error });
        throw error;
      }
      if (outcome.status === 'posted') await recordOnTimeline(tx, event, result.transaction, outcome.transaction.id);
    },
    // Deliveries committed together are posted in one statement, their timeline events written in
    // another. Any rejected draft fails the batch: the kit then runs each message alone, so only
    // the rejected one is parked.
    async handleBatch(events, tx) {
      const posted: { event: DomainEvent<EventPayload<K>>; draft: JournalTransactionDraft }[] = [];
      for (const event of events) {
        const result = spec.rule(event.payload, { causationEventId: event.messageId });
        if (result.kind === 'rejected') throw new NonRetryableError(`${result.error.code}: ${result.error.message}`);
        if (result.kind === 'post') posted.push({ event, draft: result.transaction });
      }
      if (posted.length === 0) return;
      let outcomes;
      try {
        outcomes = await postTransactionsInTx(
          tx,
          posted.map((item) => item.draft),
          options,
        );
      } catch (error) {
        if (error instanceof PostingRejectedError) throw new NonRetryableError(error.message);
        if (error instanceof ReversalTargetMissingError) throw new RetryableError(error.message, { cause: error });
        throw error;
      }
      const timeline = posted.flatMap((item, index) => {
        const outcome = outcomes[index];
        if (outcome?.status !== 'posted') return [];
        const event = timelineEvent(item.event, item.draft, outcome.transaction.id);
        return event ? [event] : [];
      });
      await writeOutboxBatch(tx, timeline);
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
  const event = timelineEvent(cause, draft, transactionId);
  if (event) await writeOutbox(tx, event);
}

/**
 * The one seller whose accounts a posting moves (a delivery, an order's refund), or undefined when
 * it moves several sellers' or none. The payments subgraph shows a seller key only the timeline
 * entries without a sellerId or with its own: another seller's order stays out of sight.
 */
export function timelineSellerOf(draft: JournalTransactionDraft): string | undefined {
  const sellers = new Set<string>();
  for (const entry of draft.entries) {
    const sellerId = sellerIdOf(entry.accountCode);
    if (sellerId !== undefined) sellers.add(sellerId);
  }
  return sellers.size === 1 ? [...sellers][0] : undefined;
}

/** timeline.recorded@1 for the payment a posting belongs to (none for payouts and PSP fees). */
function timelineEvent(cause: DomainEvent<unknown>, draft: JournalTransactionDraft, transactionId: string): DomainEvent<unknown> | undefined {
  const paymentId = paymentIdOf(draft);
  if (paymentId === undefined) return undefined;
  const [moved] = movedAmounts(draft);
  const amountText = moved === undefined ? '' : ` ${formatAmount(moved.amountMinor, moved.currency)} ${moved.currency}`;
  const sellerId = timelineSellerOf(draft);
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
      ...(sellerId === undefined ? {} : { sellerId }),
    },
    at: new Date(),
  });
  return newEvent('timeline.recorded', 1, paymentId, payload);
}
