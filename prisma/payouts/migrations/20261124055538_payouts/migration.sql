-- CreateTable
CREATE TABLE "payouts" (
    "id" VARCHAR(64) NOT NULL,
    "seller_id" VARCHAR(128) NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "payout_currency" VARCHAR(3) NOT NULL,
    "payout_amount_minor" BIGINT NOT NULL,
    "fx_rate_numerator" VARCHAR(30),
    "fx_rate_denominator" VARCHAR(30),
    "destination" VARCHAR(200) NOT NULL,
    "status" VARCHAR(12) NOT NULL,
    "psp_payout_id" VARCHAR(200),
    "failure_code" VARCHAR(200),
    "failure_message" VARCHAR(2000),
    "requested_by" VARCHAR(300) NOT NULL,
    "idempotency_key" VARCHAR(255) NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "processing_at" TIMESTAMPTZ(3),
    "paid_at" TIMESTAMPTZ(3),
    "failed_at" TIMESTAMPTZ(3),
    "version" INTEGER NOT NULL DEFAULT 0,

    CONSTRAINT "payouts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "payouts_psp_payout_id_key" ON "payouts"("psp_payout_id");

-- CreateIndex
CREATE INDEX "payouts_seller_id_created_at_id_idx" ON "payouts"("seller_id", "created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "payouts_status_updated_at_idx" ON "payouts"("status", "updated_at");

-- CreateIndex
CREATE UNIQUE INDEX "payouts_requested_by_idempotency_key_key" ON "payouts"("requested_by", "idempotency_key");

-- Payout invariants enforced by PostgreSQL, as BEFORE triggers (schema.prisma cannot declare
-- CHECKs; the schema-vs-migrations test leaves functions and triggers out). Same SQLSTATE as a
-- CHECK violation (23514) for bad rows, 55000 for an illegal status change.
CREATE OR REPLACE FUNCTION payouts_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.amount_minor <= 0 OR NEW.payout_amount_minor <= 0 THEN
    RAISE EXCEPTION 'payouts: amounts of % must be > 0', NEW.id USING ERRCODE = '23514';
  END IF;
  IF NEW.status NOT IN ('PENDING', 'PROCESSING', 'PAID', 'FAILED', 'CANCELED') THEN
    RAISE EXCEPTION 'payouts: invalid status %', NEW.status USING ERRCODE = '23514';
  END IF;
  IF NEW.currency !~ '^[A-Z]{3}$' OR NEW.payout_currency !~ '^[A-Z]{3}$' THEN
    RAISE EXCEPTION 'payouts: invalid currency on %', NEW.id USING ERRCODE = '23514';
  END IF;
  IF (NEW.payout_currency = NEW.currency) <> (NEW.fx_rate_numerator IS NULL) THEN
    RAISE EXCEPTION 'payouts: % needs an FX rate exactly when its payout currency differs', NEW.id USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS payouts_check_row ON payouts;
CREATE TRIGGER payouts_check_row BEFORE INSERT OR UPDATE ON payouts
  FOR EACH ROW EXECUTE FUNCTION payouts_check_row();

-- Status only moves forward (the domain's transition table, repeated here as the last line of
-- defence); amounts, seller and currencies never change after the request.
CREATE OR REPLACE FUNCTION payouts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.amount_minor <> OLD.amount_minor OR NEW.payout_amount_minor <> OLD.payout_amount_minor
     OR NEW.seller_id <> OLD.seller_id OR NEW.currency <> OLD.currency OR NEW.payout_currency <> OLD.payout_currency THEN
    RAISE EXCEPTION 'payouts: % cannot change its seller, currencies or amounts', OLD.id USING ERRCODE = '55000';
  END IF;
  IF NEW.status <> OLD.status AND NOT (
       (OLD.status = 'PENDING' AND NEW.status IN ('PROCESSING', 'FAILED', 'CANCELED'))
    OR (OLD.status = 'PROCESSING' AND NEW.status IN ('PAID', 'FAILED'))) THEN
    RAISE EXCEPTION 'payouts: % cannot move from % to %', OLD.id, OLD.status, NEW.status USING ERRCODE = '55000';
  END IF;
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS payouts_guard ON payouts;
CREATE TRIGGER payouts_guard BEFORE UPDATE ON payouts
  FOR EACH ROW EXECUTE FUNCTION payouts_guard();
DROP TRIGGER IF EXISTS payouts_no_delete ON payouts;
CREATE OR REPLACE FUNCTION payouts_forbid_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'payouts: % on payouts is forbidden', TG_OP USING ERRCODE = '55000';
END;
$$;
CREATE TRIGGER payouts_no_delete BEFORE DELETE ON payouts
  FOR EACH ROW EXECUTE FUNCTION payouts_forbid_delete();
