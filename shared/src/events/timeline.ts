// Timeline events: any service records something that happened to a payment (a ledger posting,
// a balance change, a payout); the payments subgraph consumes them into `Payment.timeline`.
import { z } from 'zod';
import { idSchema, timestampSchema } from './primitives.js';

export const TIMELINE_SOURCES = ['payments', 'ledger', 'wallet', 'payouts', 'psp'] as const;
const TIMELINE_DATA_BYTES_MAX = 8192;

const TIMELINE_ENTRIES_MAX = 100;

/** One entry of a payment's timeline. */
const timelineEntry = z.object({
  source: z.enum(TIMELINE_SOURCES),
  /** Dotted, e.g. `ledger.transaction_posted`, `wallet.balance_changed`. */
  type: z.string().min(1).max(100),
  message: z.string().min(1).max(1000),
  data: z
    .record(z.string(), z.unknown())
    .nullable()
    .optional()
    .refine((data) => data === undefined || data === null || JSON.stringify(data).length <= TIMELINE_DATA_BYTES_MAX, {
      message: `data must be at most ${TIMELINE_DATA_BYTES_MAX} bytes of JSON`,
    }),
  at: timestampSchema,
});
export type TimelineEntry = z.output<typeof timelineEntry>;

/** timeline.recorded@1: one entry for a payment's timeline. */
export const timelineRecordedV1 = z.object({ paymentId: idSchema }).extend(timelineEntry.shape);
export type TimelineRecordedV1 = z.output<typeof timelineRecordedV1>;

/**
 * timeline.recorded@2: the entries one change wrote for one payment, in order (e.g. the balance
 * changes of every seller a payment pays): one event and one delivery instead of one per entry.
 */
export const timelineRecordedV2 = z.object({
  paymentId: idSchema,
  entries: z.array(timelineEntry).min(1).max(TIMELINE_ENTRIES_MAX),
});
export type TimelineRecordedV2 = z.output<typeof timelineRecordedV2>;

/** Either version, read as @2: what a consumer accepts while producers move from @1 to @2. */
export const timelineRecordedAnyVersion = z.union([
  timelineRecordedV2,
  timelineRecordedV1.transform(({ paymentId, ...entry }): TimelineRecordedV2 => ({ paymentId, entries: [entry] })),
]);
