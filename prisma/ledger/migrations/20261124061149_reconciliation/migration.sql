-- CreateTable
CREATE TABLE "reconciliation_runs" (
    "id" UUID NOT NULL,
    "date" VARCHAR(10) NOT NULL,
    "source" VARCHAR(8) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "line_count" INTEGER NOT NULL DEFAULT 0,
    "matched_count" INTEGER NOT NULL DEFAULT 0,
    "attempts" INTEGER NOT NULL DEFAULT 1,
    "report" JSONB NOT NULL DEFAULT '{}',
    "error" TEXT,
    "started_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMPTZ(3),

    CONSTRAINT "reconciliation_runs_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "psp_settlement_lines" (
    "balance_transaction_id" VARCHAR(200) NOT NULL,
    "date" VARCHAR(10) NOT NULL,
    "source" VARCHAR(8) NOT NULL,
    "run_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL,
    "available_on" TIMESTAMPTZ(3),
    "currency" VARCHAR(3) NOT NULL,
    "gross_minor" BIGINT NOT NULL,
    "fee_minor" BIGINT NOT NULL,
    "net_minor" BIGINT NOT NULL,
    "type" VARCHAR(50) NOT NULL,
    "reporting_category" VARCHAR(50) NOT NULL,
    "source_id" VARCHAR(200),
    "payment_intent_id" VARCHAR(200),
    "description" TEXT,
    "ingested_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "psp_settlement_lines_pkey" PRIMARY KEY ("balance_transaction_id")
);

-- CreateTable
CREATE TABLE "discrepancies" (
    "id" UUID NOT NULL,
    "date" VARCHAR(10) NOT NULL,
    "kind" VARCHAR(24) NOT NULL,
    "category" VARCHAR(16) NOT NULL,
    "status" VARCHAR(10) NOT NULL,
    "psp_reference" VARCHAR(200) NOT NULL,
    "balance_transaction_id" VARCHAR(200),
    "ledger_reference" VARCHAR(200),
    "currency" VARCHAR(3),
    "expected_minor" BIGINT,
    "actual_minor" BIGINT,
    "rule" VARCHAR(60) NOT NULL,
    "note" TEXT,
    "detail" JSONB NOT NULL DEFAULT '{}',
    "first_run_id" UUID NOT NULL,
    "last_run_id" UUID NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "resolved_at" TIMESTAMPTZ(3),
    "resolved_by" VARCHAR(200),
    "resolution_note" TEXT,
    "correction_reference" VARCHAR(200),

    CONSTRAINT "discrepancies_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "reconciliation_runs_date_source_key" ON "reconciliation_runs"("date", "source");

-- CreateIndex
CREATE INDEX "psp_settlement_lines_date_idx" ON "psp_settlement_lines"("date");

-- CreateIndex
CREATE INDEX "psp_settlement_lines_source_id_idx" ON "psp_settlement_lines"("source_id");

-- CreateIndex
CREATE INDEX "psp_settlement_lines_payment_intent_id_idx" ON "psp_settlement_lines"("payment_intent_id");

-- CreateIndex
CREATE INDEX "discrepancies_status_created_at_id_idx" ON "discrepancies"("status", "created_at", "id");

-- CreateIndex
CREATE INDEX "discrepancies_created_at_id_idx" ON "discrepancies"("created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "discrepancies_date_kind_psp_reference_key" ON "discrepancies"("date", "kind", "psp_reference");

-- Hand-written: reconciliation history is never deleted (discrepancies are resolved, runs and
-- ingested PSP lines are kept as evidence).
CREATE OR REPLACE FUNCTION reconciliation_forbid_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'reconciliation: DELETE on % is forbidden', TG_TABLE_NAME USING ERRCODE = '55000';
END;
$$;

CREATE TRIGGER reconciliation_runs_no_delete BEFORE DELETE ON "reconciliation_runs"
  FOR EACH ROW EXECUTE FUNCTION reconciliation_forbid_delete();
CREATE TRIGGER discrepancies_no_delete BEFORE DELETE ON "discrepancies"
  FOR EACH ROW EXECUTE FUNCTION reconciliation_forbid_delete();
CREATE TRIGGER psp_settlement_lines_no_delete BEFORE DELETE ON "psp_settlement_lines"
  FOR EACH ROW EXECUTE FUNCTION reconciliation_forbid_delete();
