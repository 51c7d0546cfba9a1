// timeline.recorded (@1: one entry, @2: several for one payment) from any service → rows of
// Payment.timeline. The kit's inbox makes a redelivery a no-op; entries about payments this
// database does not know are dropped. Deliveries committed together are written with one
// statement (handleBatch).
import { defineConsumer, timelineRecordedAnyVersion, type ConsumerContext, type DomainEvent, type SqlClient, type TimelineEntry, type TimelineRecordedV2 } from '@clearhouse/shared';
import { timelineEntryId } from '../persistence/payments.js';

interface PaymentEntry {
  readonly paymentId: string;
  readonly entry: TimelineEntry;
}

function dataParam({ entry }: PaymentEntry): string | null {
  return entry.data === undefined || entry.data === null ? null : JSON.stringify(entry.data);
}

function entriesOf(payload: TimelineRecordedV2): PaymentEntry[] {
  return payload.entries.map((entry) => ({ paymentId: payload.paymentId, entry }));
}

/** Inserts the entries whose payment exists, in the given order; returns how many were written. */
async function insertEntries(tx: SqlClient, entries: readonly PaymentEntry[]): Promise<{ ids: string[]; written: Set<string> }> {
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
    entries.map((item) => item.paymentId),
    entries.map((item) => new Date(item.entry.at).toISOString()),
    entries.map((item) => item.entry.source),
    entries.map((item) => item.entry.type),
    entries.map((item) => item.entry.message),
    entries.map(dataParam),
  );
  return { ids, written: new Set(rows.map((row) => row.id)) };
}

/** Each event's entries in one statement; warns once per event none of whose entries was written. */
async function insertEvents(tx: SqlClient, payloads: readonly TimelineRecordedV2[], ctxs: readonly ConsumerContext[]): Promise<void> {
  const perEvent = payloads.map(entriesOf);
  const { ids, written } = await insertEntries(tx, perEvent.flat());
  let offset = 0;
  perEvent.forEach((entries, index) => {
    const own = ids.slice(offset, offset + entries.length);
    offset += entries.length;
    const payload = payloads[index];
    if (payload && !own.some((id) => written.has(id))) ctxs[index]?.logger.warn({ paymentId: payload.paymentId, types: payload.entries.map((entry) => entry.type) }, 'timeline entries for an unknown payment dropped');
  });
}

export const timelineConsumer = defineConsumer<TimelineRecordedV2>({
  name: 'payments.timeline',
  routingKeys: ['timeline.recorded'],
  schema: timelineRecordedAnyVersion,
  batchable: true,
  async handle(event, tx: SqlClient, ctx) {
    await insertEvents(tx, [event.payload], [ctx]);
  },
  async handleBatch(events: readonly DomainEvent<TimelineRecordedV2>[], tx: SqlClient, ctxs: readonly ConsumerContext[]) {
    await insertEvents(
      tx,
      events.map((event) => event.payload),
      ctxs,
    );
  },
});
