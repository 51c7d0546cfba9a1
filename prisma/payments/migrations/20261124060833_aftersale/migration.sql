-- AlterTable
ALTER TABLE "payment_orders" ADD COLUMN     "pending_held_minor" BIGINT NOT NULL DEFAULT 0,
ADD COLUMN     "release_due_at" TIMESTAMPTZ(3),
ADD COLUMN     "released_at" TIMESTAMPTZ(3),
ADD COLUMN     "reserved_refund_minor" BIGINT NOT NULL DEFAULT 0;

-- CreateTable
CREATE TABLE "refunds" (
    "id" TEXT NOT NULL,
    "payment_id" TEXT NOT NULL,
    "payment_order_id" TEXT NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "currency" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "reason" TEXT,
    "psp_refund_id" TEXT,
    "psp_round" INTEGER NOT NULL DEFAULT 0,
    "failure_code" TEXT,
    "fee_refund_minor" BIGINT,
    "pending_minor" BIGINT,
    "available_minor" BIGINT,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "succeeded_at" TIMESTAMPTZ(3),
    "next_recheck_at" TIMESTAMPTZ(3),

    CONSTRAINT "refunds_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "disputes" (
    "id" TEXT NOT NULL,
    "payment_id" TEXT NOT NULL,
    "psp_dispute_id" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "dispute_fee_minor" BIGINT NOT NULL,
    "fee_borne_by" TEXT NOT NULL,
    "loss_borne_by" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "status_before" TEXT NOT NULL,
    "reason" TEXT,
    "orders" JSONB NOT NULL,
    "opened_at" TIMESTAMPTZ(3) NOT NULL,
    "closed_at" TIMESTAMPTZ(3),

    CONSTRAINT "disputes_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "refunds_psp_refund_id_key" ON "refunds"("psp_refund_id");

-- CreateIndex
CREATE INDEX "refunds_payment_order_id_created_at_idx" ON "refunds"("payment_order_id", "created_at");

-- CreateIndex
CREATE INDEX "refunds_status_next_recheck_at_idx" ON "refunds"("status", "next_recheck_at");

-- CreateIndex
CREATE UNIQUE INDEX "disputes_psp_dispute_id_key" ON "disputes"("psp_dispute_id");

-- CreateIndex
CREATE INDEX "disputes_payment_id_idx" ON "disputes"("payment_id");

-- CreateIndex
CREATE INDEX "payment_orders_release_due_at_idx" ON "payment_orders"("release_due_at");

-- AddForeignKey
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_payment_order_id_fkey" FOREIGN KEY ("payment_order_id") REFERENCES "payment_orders"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
