-- Wallet invariants enforced by PostgreSQL. Applies to the tables of the models WalletBalance
-- (wallet_balances), WalletReservation (wallet_reservations) and WalletMovement
-- (wallet_movements) in prisma/wallet/schema.prisma. Append it, unchanged, to the migration that
-- creates those tables. Idempotent. Run as one script: the function body contains semicolons.

-- Row checks as BEFORE triggers rather than CHECK constraints: schema.prisma cannot declare
-- CHECKs, and the schema-vs-migrations test compares tables exactly but leaves functions and
-- triggers out. Same SQLSTATE as a CHECK violation (23514).
CREATE OR REPLACE FUNCTION wallet_balances_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.reserved_minor < 0 THEN
    RAISE EXCEPTION 'wallet: reserved_minor of %/% would become %', NEW.seller_id, NEW.currency, NEW.reserved_minor USING ERRCODE = '23514';
  END IF;
  IF NEW.currency !~ '^[A-Z]{3}$' THEN
    RAISE EXCEPTION 'wallet: invalid currency %', NEW.currency USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS wallet_balances_check_row ON wallet_balances;
CREATE TRIGGER wallet_balances_check_row BEFORE INSERT OR UPDATE ON wallet_balances
  FOR EACH ROW EXECUTE FUNCTION wallet_balances_check_row();

CREATE OR REPLACE FUNCTION wallet_reservations_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.amount_minor <= 0 THEN
    RAISE EXCEPTION 'wallet: reservation amount must be > 0, got %', NEW.amount_minor USING ERRCODE = '23514';
  END IF;
  IF NEW.status NOT IN ('held', 'released', 'consumed') THEN
    RAISE EXCEPTION 'wallet: invalid reservation status %', NEW.status USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS wallet_reservations_check_row ON wallet_reservations;
CREATE TRIGGER wallet_reservations_check_row BEFORE INSERT OR UPDATE ON wallet_reservations
  FOR EACH ROW EXECUTE FUNCTION wallet_reservations_check_row();

CREATE OR REPLACE FUNCTION wallet_movements_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.pending_delta_minor = 0 AND NEW.available_delta_minor = 0 AND NEW.reserved_delta_minor = 0 THEN
    RAISE EXCEPTION 'wallet: a movement must change something' USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS wallet_movements_check_row ON wallet_movements;
CREATE TRIGGER wallet_movements_check_row BEFORE INSERT ON wallet_movements
  FOR EACH ROW EXECUTE FUNCTION wallet_movements_check_row();

-- wallet_movements is an append-only history.
CREATE OR REPLACE FUNCTION wallet_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'wallet: % on % is forbidden; movements are append-only', TG_OP, TG_TABLE_NAME USING ERRCODE = '55000';
END;
$$;
DROP TRIGGER IF EXISTS wallet_movements_append_only ON wallet_movements;
CREATE TRIGGER wallet_movements_append_only BEFORE UPDATE OR DELETE ON wallet_movements
  FOR EACH ROW EXECUTE FUNCTION wallet_forbid_change();
DROP TRIGGER IF EXISTS wallet_movements_no_truncate ON wallet_movements;
CREATE TRIGGER wallet_movements_no_truncate BEFORE TRUNCATE ON wallet_movements
  FOR EACH STATEMENT EXECUTE FUNCTION wallet_forbid_change();

-- A reservation only moves held → released | consumed, and its amount never changes.
CREATE OR REPLACE FUNCTION wallet_reservations_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.amount_minor <> OLD.amount_minor OR NEW.seller_id <> OLD.seller_id OR NEW.currency <> OLD.currency THEN
    RAISE EXCEPTION 'wallet: reservation % cannot change its seller, currency or amount', OLD.id USING ERRCODE = '55000';
  END IF;
  IF NEW.status <> OLD.status AND OLD.status <> 'held' THEN
    RAISE EXCEPTION 'wallet: reservation % is %, cannot become %', OLD.id, OLD.status, NEW.status USING ERRCODE = '55000';
  END IF;
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS wallet_reservations_guard ON wallet_reservations;
CREATE TRIGGER wallet_reservations_guard BEFORE UPDATE ON wallet_reservations
  FOR EACH ROW EXECUTE FUNCTION wallet_reservations_guard();
