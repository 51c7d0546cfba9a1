// timeline.recorded@1 from any service → a row of Payment.timeline. The kit's inbox makes a
// redelivery a no-op; entries about payments this database does not know are dropped.
// Deliveries committed together are written with one statement (handleBatch).
import { defineConsumer, timelineRecordedV1, type ConsumerContext, type DomainEvent, type SqlClient, type TimelineRecordedV1 } from '@clearhouse/shared';
import { timelineEntryId } from '../persistence/payments.js';

function dataParam(entry: TimelineRecordedV1): string | null {
  return entry.data === undefined || entry.data === null ? null : JSON.stringify(entry.data);
}

/** Inserts the entries whose payment exists, in the given order; returns the ids of those written. */
async function insertEntries(tx: SqlClient, entries: readonly TimelineRecordedV1[]): Promise<{ ids: string[]; written: Set<string> }> {
  const ids = entries.map(() => timelineEntryId());
  const rows = await tx.$queryRawUnsafe<{ id: string }[]>(
    `INSERT INTO timeline_events (id, payment_id, at, source, type, message, data)
     SELECT e.id, p.id, e.at, e.source, e.type, e.message, e.data
       FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::jsonb[]) WITH ORDINALITY
            AS e(id, payment_id, at, source, type, message, data, n)
       JOIN payments p ON p.id = e.payment_id
      ORDER BY e.n
     RETURNING id::text AS id`,
    ids,
    entries.map((entry) => entry.paymentId),
    entries.map((entry) => new Date(entry.at).toISOString()),
    entries.map((entry) => entry.source),
    entries.map((entry) => entry.type),
    entries.map((entry) => entry.message),
    entries.map(dataParam),
  );
  return { ids, written: new Set(rows.map((row) => row.id)) };
}

function warnDropped(logger: ConsumerContext['logger'], entry: TimelineRecordedV1): void {
  logger.warn({ paymentId: entry.paymentId, type: entry.type }, 'timeline entry for an unknown payment dropped');
}

export const timelineConsumer = defineConsumer<TimelineRecordedV1>({
  name: 'payments.timeline',
  routingKeys: ['timeline.recorded'],
  schema: timelineRecordedV1,
  batchable: true,
  async handle(event, tx: SqlClient, ctx) {
    const { written } = await insertEntries(tx, [event.payload]);
    if (written.size === 0) warnDropped(ctx.logger, event.payload);
  },
  async handleBatch(events: readonly DomainEvent<TimelineRecordedV1>[], tx: SqlClient, ctxs: readonly ConsumerContext[]) {
    const { ids, written } = await insertEntries(
      tx,
      events.map((event) => event.payload),
    );
    ids.forEach((id, index) => {
      const event = events[index];
      const ctx = ctxs[index];
      if (event && ctx && !written.has(id)) warnDropped(ctx.logger, event.payload);
    });
  },
});
