-- A discrepancy is keyed by (date, kind, subject, psp_reference) instead of (date, kind,
-- psp_reference). A refund line and its refund_failure line (a refund that failed at the PSP
-- after it succeeded) carry the same PSP refund id, as a payout and its payout_reversal carry the
-- payout id and a dispute and its dispute_reversal the dispute id: with both missing in the
-- ledger only the first line's finding was kept, and the refund_failure's re-sync of the refund
-- was never attempted. subject is the line's kind (or, for MISSING_AT_PSP, the posting's kind).

-- AlterTable (hand-written: filled from the rule, whose first segment names the same thing, then NOT NULL)
ALTER TABLE "discrepancies" ADD COLUMN "subject" VARCHAR(24);
UPDATE "discrepancies" SET "subject" = CASE split_part("rule", '.', 1) WHEN 'line' THEN 'unknown' ELSE split_part("rule", '.', 1) END;
ALTER TABLE "discrepancies" ALTER COLUMN "subject" SET NOT NULL;

-- DropIndex
DROP INDEX "discrepancies_date_kind_psp_reference_key";

-- CreateIndex
CREATE UNIQUE INDEX "discrepancies_date_kind_subject_psp_reference_key" ON "discrepancies"("date", "kind", "subject", "psp_reference");
