-- CreateTable
CREATE TABLE "payments" (
    "id" TEXT NOT NULL,
    "status" TEXT NOT NULL,
    "buyer_id" TEXT NOT NULL,
    "currency" TEXT NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "refunded_amount_minor" BIGINT NOT NULL DEFAULT 0,
    "checkout_url" TEXT,
    "psp_payment_intent_id" TEXT,
    "psp_checkout_session_id" TEXT,
    "psp_registration_round" INTEGER NOT NULL DEFAULT 0,
    "failure_code" TEXT,
    "failure_message" TEXT,
    "return_url" TEXT,
    "metadata" JSONB,
    "idempotency_caller_id" TEXT NOT NULL,
    "idempotency_key" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "next_recheck_at" TIMESTAMPTZ(3),
    "version" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "payments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "payment_orders" (
    "id" TEXT NOT NULL,
    "payment_id" TEXT NOT NULL,
    "position" INTEGER NOT NULL,
    "seller_id" TEXT NOT NULL,
    "reference" TEXT,
    "amount_minor" BIGINT NOT NULL,
    "fee_minor" BIGINT NOT NULL,
    "net_amount_minor" BIGINT NOT NULL,
    "status" TEXT NOT NULL,
    "refunded_amount_minor" BIGINT NOT NULL DEFAULT 0,
    "delivered_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "payment_orders_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "timeline_events" (
    "id" UUID NOT NULL,
    "payment_id" TEXT NOT NULL,
    "at" TIMESTAMPTZ(3) NOT NULL,
    "source" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "message" TEXT NOT NULL,
    "data" JSONB,

    CONSTRAINT "timeline_events_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "processed_webhook_events" (
    "event_id" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "received_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "processed_webhook_events_pkey" PRIMARY KEY ("event_id")
);

-- CreateIndex
CREATE UNIQUE INDEX "payments_psp_payment_intent_id_key" ON "payments"("psp_payment_intent_id");

-- CreateIndex
CREATE UNIQUE INDEX "payments_psp_checkout_session_id_key" ON "payments"("psp_checkout_session_id");

-- CreateIndex
CREATE INDEX "payments_buyer_id_created_at_idx" ON "payments"("buyer_id", "created_at");

-- CreateIndex
CREATE INDEX "payments_status_next_recheck_at_idx" ON "payments"("status", "next_recheck_at");

-- CreateIndex
CREATE INDEX "payments_created_at_id_idx" ON "payments"("created_at", "id");

-- CreateIndex
CREATE UNIQUE INDEX "payments_idempotency_caller_id_idempotency_key_key" ON "payments"("idempotency_caller_id", "idempotency_key");

-- CreateIndex
CREATE INDEX "payment_orders_seller_id_payment_id_idx" ON "payment_orders"("seller_id", "payment_id");

-- CreateIndex
CREATE UNIQUE INDEX "payment_orders_payment_id_position_key" ON "payment_orders"("payment_id", "position");

-- CreateIndex
CREATE INDEX "timeline_events_payment_id_at_idx" ON "timeline_events"("payment_id", "at");

-- CreateIndex
CREATE INDEX "processed_webhook_events_received_at_idx" ON "processed_webhook_events"("received_at");

-- AddForeignKey
ALTER TABLE "payment_orders" ADD CONSTRAINT "payment_orders_payment_id_fkey" FOREIGN KEY ("payment_id") REFERENCES "payments"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "timeline_events" ADD CONSTRAINT "timeline_events_payment_id_fkey" FOREIGN KEY ("payment_id") REFERENCES "payments"("id") ON DELETE RESTRICT ON UPDATE CASCADE;
