-- CreateIndex
CREATE INDEX "wallet_reservations_status_created_at_id_idx" ON "wallet_reservations"("status", "created_at", "id");
