-- Ledger invariants enforced by PostgreSQL (ARCHITECTURE.md "Ledger": "enforce it in the
-- database, not only in code"). Applies to the tables of the models LedgerAccount
-- (ledger_accounts), JournalTransaction (journal_transactions) and LedgerEntry (ledger_entries)
-- in prisma/ledger/schema.prisma. Append this file, unchanged, to the migration that creates
-- those tables (after the CREATE TABLE / index / foreign key statements). It is idempotent
-- (CREATE OR REPLACE, DROP ... IF EXISTS), so re-running it is harmless.
--
-- What it guarantees:
--   (a) journal_transactions and ledger_entries are append-only: UPDATE, DELETE and TRUNCATE
--       raise. ledger_accounts rows cannot be deleted and their identity (code, currency, type,
--       normal_balance) cannot change; only balance_minor / version / updated_at may be updated.
--   (b) at COMMIT (deferred constraint triggers): every journal transaction has >= 2 entries,
--       every entry's currency is its account's, entries carry their transaction's
--       effective_at / posted_at, and debits = credits per currency. A transaction row without
--       entries, or a partial/unbalanced set of entries, makes the COMMIT fail.
--   (c) row checks (BEFORE INSERT triggers, see below for why not CHECK constraints):
--       amount_minor > 0, direction, account type and normal balance values, currency shape.
-- All violations raise SQLSTATE 23514 (check_violation) or 55000 (append-only), which the
-- messaging kit classifies as non-retryable.

-- (c) Row checks -----------------------------------------------------------------------------------
-- Written as BEFORE triggers rather than CHECK constraints: schema.prisma cannot declare CHECKs,
-- and the schema-vs-migrations test (shared/src/db/migrations.test.ts) compares tables exactly but
-- leaves functions and triggers out, as objects only migrations can add. Same SQLSTATE 23514.
CREATE OR REPLACE FUNCTION ledger_entries_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.amount_minor IS NULL OR NEW.amount_minor <= 0 THEN
    RAISE EXCEPTION 'ledger: entry amount_minor must be > 0, got %', NEW.amount_minor USING ERRCODE = '23514';
  END IF;
  IF NEW.direction NOT IN ('DEBIT', 'CREDIT') THEN
    RAISE EXCEPTION 'ledger: entry direction must be DEBIT or CREDIT, got %', NEW.direction USING ERRCODE = '23514';
  END IF;
  IF NEW.currency !~ '^[A-Z]{3}$' THEN
    RAISE EXCEPTION 'ledger: invalid entry currency %', NEW.currency USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS ledger_entries_check_row ON ledger_entries;
CREATE TRIGGER ledger_entries_check_row BEFORE INSERT ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_entries_check_row();

-- Accounts: checked on INSERT; ledger_accounts_guard (below) forbids changing these columns later.
CREATE OR REPLACE FUNCTION ledger_accounts_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.type NOT IN ('ASSET', 'LIABILITY', 'EQUITY', 'REVENUE', 'EXPENSE') THEN
    RAISE EXCEPTION 'ledger: invalid account type %', NEW.type USING ERRCODE = '23514';
  END IF;
  IF NEW.normal_balance NOT IN ('DEBIT', 'CREDIT') THEN
    RAISE EXCEPTION 'ledger: invalid normal balance %', NEW.normal_balance USING ERRCODE = '23514';
  END IF;
  IF NEW.currency !~ '^[A-Z]{3}$' THEN
    RAISE EXCEPTION 'ledger: invalid account currency %', NEW.currency USING ERRCODE = '23514';
  END IF;
  IF NEW.shard < 0 THEN
    RAISE EXCEPTION 'ledger: invalid account shard %', NEW.shard USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS ledger_accounts_check_row ON ledger_accounts;
CREATE TRIGGER ledger_accounts_check_row BEFORE INSERT ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_accounts_check_row();

CREATE OR REPLACE FUNCTION journal_transactions_check_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF length(NEW.reference) = 0 THEN
    RAISE EXCEPTION 'ledger: a journal transaction needs a reference' USING ERRCODE = '23514';
  END IF;
  IF NEW.reverses_transaction_id IS NOT DISTINCT FROM NEW.id THEN
    RAISE EXCEPTION 'ledger: journal transaction % cannot reverse itself', NEW.id USING ERRCODE = '23514';
  END IF;
  RETURN NEW;
END;
$$;
DROP TRIGGER IF EXISTS journal_transactions_check_row ON journal_transactions;
CREATE TRIGGER journal_transactions_check_row BEFORE INSERT ON journal_transactions
  FOR EACH ROW EXECUTE FUNCTION journal_transactions_check_row();

-- (a) append-only -------------------------------------------------------------------------------
CREATE OR REPLACE FUNCTION ledger_forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'ledger: % on % is forbidden; the ledger is append-only (post a reversing transaction)', TG_OP, TG_TABLE_NAME
    USING ERRCODE = '55000';
END;
$$;

DROP TRIGGER IF EXISTS ledger_entries_append_only ON ledger_entries;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
DROP TRIGGER IF EXISTS ledger_entries_no_truncate ON ledger_entries;
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();

DROP TRIGGER IF EXISTS journal_transactions_append_only ON journal_transactions;
CREATE TRIGGER journal_transactions_append_only BEFORE UPDATE OR DELETE ON journal_transactions
  FOR EACH ROW EXECUTE FUNCTION ledger_forbid_change();
DROP TRIGGER IF EXISTS journal_transactions_no_truncate ON journal_transactions;
CREATE TRIGGER journal_transactions_no_truncate BEFORE TRUNCATE ON journal_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();

-- Accounts hold the running balance, so they are updated, but never deleted or re-identified.
CREATE OR REPLACE FUNCTION ledger_accounts_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    RAISE EXCEPTION 'ledger: DELETE on ledger_accounts is forbidden' USING ERRCODE = '55000';
  END IF;
  IF NEW.id <> OLD.id OR NEW.code <> OLD.code OR NEW.currency <> OLD.currency OR NEW.shard <> OLD.shard
     OR NEW.type <> OLD.type OR NEW.normal_balance <> OLD.normal_balance THEN
    RAISE EXCEPTION 'ledger: the identity of ledger account % (%) cannot change', OLD.code, OLD.currency
      USING ERRCODE = '55000';
  END IF;
  RETURN NEW;
END;
$$;

DROP TRIGGER IF EXISTS ledger_accounts_guard ON ledger_accounts;
CREATE TRIGGER ledger_accounts_guard BEFORE UPDATE OR DELETE ON ledger_accounts
  FOR EACH ROW EXECUTE FUNCTION ledger_accounts_guard();
DROP TRIGGER IF EXISTS ledger_accounts_no_truncate ON ledger_accounts;
CREATE TRIGGER ledger_accounts_no_truncate BEFORE TRUNCATE ON ledger_accounts
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_forbid_change();

-- (b) balanced at commit --------------------------------------------------------------------------
-- Checks one journal transaction completely. Called at COMMIT by both constraint triggers below
-- (per inserted row; a transaction has at most 1,000 entries, so the repeated check is cheap).
CREATE OR REPLACE FUNCTION ledger_assert_transaction_valid(p_transaction_id uuid) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_entry_count bigint;
  v_unbalanced_currency text;
  v_bad_entry uuid;
BEGIN
  SELECT count(*) INTO v_entry_count FROM ledger_entries WHERE transaction_id = p_transaction_id;
  IF v_entry_count < 2 THEN
    RAISE EXCEPTION 'ledger: journal transaction % has % entries; at least 2 are required', p_transaction_id, v_entry_count
      USING ERRCODE = '23514';
  END IF;

  SELECT currency INTO v_unbalanced_currency
    FROM ledger_entries
   WHERE transaction_id = p_transaction_id
   GROUP BY currency
  HAVING sum(CASE WHEN direction = 'DEBIT' THEN amount_minor ELSE -amount_minor END) <> 0
   LIMIT 1;
  IF v_unbalanced_currency IS NOT NULL THEN
    RAISE EXCEPTION 'ledger: journal transaction % is unbalanced in %: debits <> credits', p_transaction_id, v_unbalanced_currency
      USING ERRCODE = '23514';
  END IF;

  SELECT e.id INTO v_bad_entry
    FROM ledger_entries e
    JOIN ledger_accounts a ON a.id = e.account_id
    JOIN journal_transactions t ON t.id = e.transaction_id
   WHERE e.transaction_id = p_transaction_id
     AND (e.currency <> a.currency OR e.effective_at <> t.effective_at OR e.posted_at <> t.posted_at)
   LIMIT 1;
  IF v_bad_entry IS NOT NULL THEN
    RAISE EXCEPTION 'ledger: entry % disagrees with its account currency or its transaction dates', v_bad_entry
      USING ERRCODE = '23514';
  END IF;
END;
$$;

-- Entries of a journal transaction inserted by this same database transaction are checked once,
-- by journal_transactions_have_entries below (one check per posting instead of one per entry:
-- the posting hot path). Entries added to a transaction that was committed earlier (or inserted in
-- a subtransaction, whose xid differs) get the full check here.
CREATE OR REPLACE FUNCTION ledger_entries_check_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM journal_transactions t WHERE t.id = NEW.transaction_id AND t.xmin = pg_current_xact_id()::xid) THEN
    RETURN NULL;
  END IF;
  PERFORM ledger_assert_transaction_valid(NEW.transaction_id);
  RETURN NULL;
END;
$$;

CREATE OR REPLACE FUNCTION journal_transactions_check_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM ledger_assert_transaction_valid(NEW.id);
  RETURN NULL;
END;
$$;

DROP TRIGGER IF EXISTS ledger_entries_balanced ON ledger_entries;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_entries_check_at_commit();

-- A transaction row with no entries at all fires no entry trigger; this one catches it.
DROP TRIGGER IF EXISTS journal_transactions_have_entries ON journal_transactions;
CREATE CONSTRAINT TRIGGER journal_transactions_have_entries AFTER INSERT ON journal_transactions
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION journal_transactions_check_at_commit();

-- Audit (not a trigger): accounts whose running balance disagrees with their entries. The
-- nightly reconciliation / `npm run audit` calls it and expects no rows.
CREATE OR REPLACE FUNCTION ledger_check_account_balances()
  RETURNS TABLE (account_id uuid, code text, currency text, balance_minor bigint, entries_balance_minor numeric)
  LANGUAGE sql STABLE AS $$
  SELECT a.id, a.code::text, a.currency::text, a.balance_minor,
         coalesce(sum(CASE WHEN e.direction = a.normal_balance THEN e.amount_minor ELSE -e.amount_minor END), 0)
    FROM ledger_accounts a
    LEFT JOIN ledger_entries e ON e.account_id = a.id
   GROUP BY a.id
  HAVING a.balance_minor <> coalesce(sum(CASE WHEN e.direction = a.normal_balance THEN e.amount_minor ELSE -e.amount_minor END), 0);
$$;
