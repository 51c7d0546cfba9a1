-- AlterTable
ALTER TABLE "wallet_reservations" ALTER COLUMN "seller_id" DROP NOT NULL,
ALTER COLUMN "currency" DROP NOT NULL,
ALTER COLUMN "amount_minor" DROP NOT NULL;

-- Release markers (hand-written) -------------------------------------------------------------------
-- A release that comes before any reservation of its payout id is stored as a released row with
-- no terms (it held nothing), so a later reservation of that payout id is refused. Terms are all
-- set, or all null on a released row; a set amount is positive.
CREATE OR REPLACE FUNCTION wallet_reservations_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.seller_id IS NULL AND NEW.currency IS NULL AND NEW.amount_minor IS NULL THEN
    IF NEW.status <> 'released' THEN
      RAISE EXCEPTION 'wallet: reservation % without seller, currency and amount must be released, got %', NEW.id, NEW.status USING ERRCODE = '23514';
    END IF;
  ELSIF NEW.seller_id IS NULL OR NEW.currency IS NULL OR NEW.amount_minor IS NULL THEN
    RAISE EXCEPTION 'wallet: reservation % must have a seller, a currency and an amount, or none of them', NEW.id USING ERRCODE = '23514';
  ELSIF NEW.amount_minor <= 0 THEN
    RAISE EXCEPTION 'wallet: reservation amount must be > 0, got %', NEW.amount_minor USING ERRCODE = '23514';
  END IF;
  IF NEW.status NOT IN ('held', 'released', 'consumed') THEN
    RAISE EXCEPTION 'wallet: invalid reservation status %', NEW.status USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END;
$$;

-- IS DISTINCT FROM: a marker's null terms must not be filled in later either.
CREATE OR REPLACE FUNCTION wallet_reservations_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.amount_minor IS DISTINCT FROM OLD.amount_minor OR NEW.seller_id IS DISTINCT FROM OLD.seller_id OR NEW.currency IS DISTINCT FROM OLD.currency THEN
    RAISE EXCEPTION 'wallet: reservation % cannot change its seller, currency or amount', OLD.id USING ERRCODE = '55000';
  END IF;
  IF NEW.status <> OLD.status AND OLD.status <> 'held' THEN
    RAISE EXCEPTION 'wallet: reservation % is %, cannot become %', OLD.id, OLD.status, NEW.status USING ERRCODE = '55000';
  END IF;
  RETURN NEW;
END;
$$;
