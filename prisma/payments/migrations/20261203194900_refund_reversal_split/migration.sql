-- AlterTable
ALTER TABLE "refunds" ADD COLUMN     "reversal_available_minor" BIGINT,
ADD COLUMN     "reversal_fee_refund_minor" BIGINT,
ADD COLUMN     "reversal_pending_minor" BIGINT;

-- Hand-written (schema.prisma cannot say it): refunds reversed before this migration get the split
-- their reversal made, as its refund.reversed timeline entry recorded it (the same numbers as the
-- refund.reversed@1 event; the timeline is kept, the outbox is not). Only entries whose parts are
-- whole numbers adding up to the refund are taken.
UPDATE "refunds" AS r
SET "reversal_fee_refund_minor" = (t."data"->>'feeRefundMinor')::bigint,
    "reversal_pending_minor" = (t."data"->>'pendingMinor')::bigint,
    "reversal_available_minor" = (t."data"->>'availableMinor')::bigint
FROM (
  SELECT DISTINCT ON ("data"->>'refundId') "data"
  FROM "timeline_events"
  WHERE "type" = 'refund.reversed'
    AND "data"->>'refundId' IS NOT NULL
    AND "data"->>'feeRefundMinor' ~ '^[0-9]{1,18}$'
    AND "data"->>'pendingMinor' ~ '^[0-9]{1,18}$'
    AND "data"->>'availableMinor' ~ '^[0-9]{1,18}$'
  ORDER BY "data"->>'refundId', "at" ASC
) AS t
WHERE t."data"->>'refundId' = r."id"
  AND r."status" = 'FAILED'
  AND r."succeeded_at" IS NOT NULL
  AND (t."data"->>'feeRefundMinor')::bigint + (t."data"->>'pendingMinor')::bigint + (t."data"->>'availableMinor')::bigint = r."amount_minor";

-- A reversal split is whole: all three parts or none, never negative, adding up to the refund, and
-- only on a refund that succeeded and then failed.
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_reversal_split" CHECK (
  ("reversal_fee_refund_minor" IS NULL AND "reversal_pending_minor" IS NULL AND "reversal_available_minor" IS NULL)
  OR (
    -- IS NOT NULL spelled out: a NULL part would make the comparisons NULL, which a CHECK lets pass.
    "reversal_fee_refund_minor" IS NOT NULL AND "reversal_pending_minor" IS NOT NULL AND "reversal_available_minor" IS NOT NULL
    AND "reversal_fee_refund_minor" >= 0 AND "reversal_pending_minor" >= 0 AND "reversal_available_minor" >= 0
    AND "reversal_fee_refund_minor" + "reversal_pending_minor" + "reversal_available_minor" = "amount_minor"
    AND "status" = 'FAILED' AND "succeeded_at" IS NOT NULL
  )
);
