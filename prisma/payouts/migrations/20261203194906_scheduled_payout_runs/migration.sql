-- CreateTable
CREATE TABLE "scheduled_payout_runs" (
    "day" DATE NOT NULL,
    "resume_after" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "completed_at" TIMESTAMPTZ(3),

    CONSTRAINT "scheduled_payout_runs_pkey" PRIMARY KEY ("day")
);
