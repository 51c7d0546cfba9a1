-- The day's PSP lines are those of the attempt whose result the run records. Each line names the
-- attempt of its run that stored it; a line a later completed attempt no longer reported is
-- marked withdrawn (lines are never deleted). Lines stored before this migration get attempt 0:
-- which attempt stored them is not known, and every later attempt is numbered higher.

-- AlterTable
ALTER TABLE "psp_settlement_lines" ADD COLUMN "attempt" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN "withdrawn_at" TIMESTAMPTZ(3);

-- Hand-written: the default only fills the rows already there; every insert names its attempt.
ALTER TABLE "psp_settlement_lines" ALTER COLUMN "attempt" DROP DEFAULT;
