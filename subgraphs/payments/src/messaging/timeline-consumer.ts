// timeline.recorded@1 from any service → a row of Payment.timeline. The kit's inbox makes a
// redelivery a no-op; entries about payments this database does not know are dropped.
import { defineConsumer, timelineRecordedV1, type SqlClient, type TimelineRecordedV1 } from '@clearhouse/shared';
import { timelineEntryId } from '../persistence/payments.js';

export const timelineConsumer = defineConsumer<TimelineRecordedV1>({
  name: 'payments.timeline',
  routingKeys: ['timeline.recorded'],
  schema: timelineRecordedV1,
  batchable: true,
  async handle(event, tx: SqlClient, ctx) {
    const entry = event.payload;
    const inserted = await tx.$executeRawUnsafe(
      `INSERT INTO timeline_events (id, payment_id, at, source, type, message, data)
       SELECT $1::uuid, id, $3, $4, $5, $6, $7::jsonb FROM payments WHERE id = $2`,
      timelineEntryId(),
      entry.paymentId,
      entry.at,
      entry.source,
      entry.type,
      entry.message,
      entry.data === undefined || entry.data === null ? null : JSON.stringify(entry.data),
    );
    if (inserted === 0) ctx.logger.warn({ paymentId: entry.paymentId, type: entry.type }, 'timeline entry for an unknown payment dropped');
  },
});
