-- CreateTable
CREATE TABLE "abandoned_reservations" (
    "payout_id" VARCHAR(64) NOT NULL,
    "seller_id" VARCHAR(128) NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "abandoned_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "released_at" TIMESTAMPTZ(3),

    CONSTRAINT "abandoned_reservations_pkey" PRIMARY KEY ("payout_id")
);
