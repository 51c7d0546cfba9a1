-- AlterTable
ALTER TABLE "scheduled_payout_runs" ADD COLUMN     "claim" INTEGER NOT NULL DEFAULT 0,
ADD COLUMN     "claimed_until" TIMESTAMPTZ(3),
ADD COLUMN     "pages_done_at" TIMESTAMPTZ(3);

-- CreateTable
CREATE TABLE "scheduled_payout_failures" (
    "day" DATE NOT NULL,
    "seller_id" VARCHAR(128) NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "attempts" INTEGER NOT NULL,
    "last_error" VARCHAR(2000) NOT NULL,
    "first_failed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "last_failed_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "next_attempt_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "scheduled_payout_failures_pkey" PRIMARY KEY ("day","seller_id","currency")
);

-- CreateIndex
CREATE INDEX "scheduled_payout_failures_day_next_attempt_at_idx" ON "scheduled_payout_failures"("day", "next_attempt_at");
