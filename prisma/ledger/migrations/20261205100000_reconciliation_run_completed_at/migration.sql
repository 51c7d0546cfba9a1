-- A run remembers when an attempt last COMPLETED. Until now a failed attempt kept a completed
-- day COMPLETED only if the status it saw when it claimed the run was COMPLETED: an attempt that
-- took over a re-run which died while RUNNING saw RUNNING, and its failure turned the day FAILED.
-- claimRun never clears completed_at; failRun consults it (reconciliation-store.ts).

-- AlterTable
ALTER TABLE "reconciliation_runs" ADD COLUMN "completed_at" TIMESTAMPTZ(3);

-- Hand-written backfill. Only a completed attempt writes `report`, and a claim keeps it, so a
-- non-empty report means the day completed once. A COMPLETED run completed at its finished_at.
-- For one RUNNING now (a re-run in flight, or one that died) or FAILED by the defect above, the
-- time of that completion was overwritten; the start of the attempt after it bounds it from
-- above, and the day shows COMPLETED again with the failure kept in error.
UPDATE "reconciliation_runs" SET "completed_at" = "finished_at" WHERE "status" = 'COMPLETED';
UPDATE "reconciliation_runs" SET "completed_at" = "started_at" WHERE "status" <> 'COMPLETED' AND "report" <> '{}'::jsonb;
UPDATE "reconciliation_runs" SET "status" = 'COMPLETED', "finished_at" = "completed_at" WHERE "status" = 'FAILED' AND "completed_at" IS NOT NULL;
