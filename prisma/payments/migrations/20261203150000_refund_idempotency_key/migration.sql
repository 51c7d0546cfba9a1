-- AlterTable
ALTER TABLE "refunds" ADD COLUMN     "idempotency_caller_id" TEXT,
ADD COLUMN     "idempotency_key" TEXT;

-- CreateIndex
CREATE UNIQUE INDEX "refunds_idempotency_caller_id_idempotency_key_key" ON "refunds"("idempotency_caller_id", "idempotency_key");
