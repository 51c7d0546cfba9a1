// PSP payout updates, produced by the payments subgraph (which owns POST /webhooks/stripe) when a
// Stripe `payout.*` webhook arrives; consumed by the payouts subgraph to confirm its payouts.
import { z } from 'zod';
import { idSchema, timestampSchema } from './primitives.js';

/** Stripe's payout statuses, as the PSP reports them. */
export const PSP_PAYOUT_STATUSES = ['pending', 'in_transit', 'paid', 'failed', 'canceled'] as const;
export type PspPayoutStatus = (typeof PSP_PAYOUT_STATUSES)[number];

/**
 * psp.payout_updated@1: the PSP reported a payout's status (webhook `payout.paid`,
 * `payout.failed`, `payout.canceled`, `payout.updated`). `payoutId` is the payout's
 * metadata.payoutId (set by the payouts subgraph at creation); the status is the PSP object's
 * status in the webhook. Payments deduplicates webhooks by `pspEventId`; consumers must still be
 * idempotent (the payouts transitions only move forward).
 */
export const pspPayoutUpdatedV1 = z.object({
  pspEventId: idSchema,
  pspPayoutId: idSchema,
  payoutId: idSchema.optional(),
  status: z.enum(PSP_PAYOUT_STATUSES),
  failureCode: z.string().max(200).optional(),
  failureMessage: z.string().max(2000).optional(),
  occurredAt: timestampSchema,
});
export type PspPayoutUpdatedV1 = z.output<typeof pspPayoutUpdatedV1>;
