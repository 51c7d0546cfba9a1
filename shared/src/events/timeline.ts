// Timeline events: any service records something that happened to a payment (a ledger posting,
// a balance change, a payout); the payments subgraph consumes them into `Payment.timeline`.
import { z } from 'zod';
import { idSchema, timestampSchema } from './primitives.js';

export const TIMELINE_SOURCES = ['payments', 'ledger', 'wallet', 'payouts', 'psp'] as const;
const TIMELINE_DATA_BYTES_MAX = 8192;

/** timeline.recorded@1: one entry for a payment's timeline. */
export const timelineRecordedV1 = z.object({
  paymentId: idSchema,
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
export type TimelineRecordedV1 = z.output<typeof timelineRecordedV1>;
