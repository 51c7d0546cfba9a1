-- CreateTable
CREATE TABLE "ledger_accounts" (
    "id" UUID NOT NULL,
    "code" VARCHAR(200) NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "type" VARCHAR(16) NOT NULL,
    "normal_balance" VARCHAR(6) NOT NULL,
    "shard" SMALLINT NOT NULL DEFAULT 0,
    "balance_minor" BIGINT NOT NULL DEFAULT 0,
    "version" INTEGER NOT NULL DEFAULT 0,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "ledger_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "journal_transactions" (
    "id" UUID NOT NULL,
    "reference" VARCHAR(200) NOT NULL,
    "kind" VARCHAR(40) NOT NULL,
    "effective_at" TIMESTAMPTZ(3) NOT NULL,
    "posted_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "metadata" JSONB NOT NULL DEFAULT '{}',
    "causation_event_id" TEXT,
    "correlation_id" TEXT,
    "reverses_transaction_id" UUID,

    CONSTRAINT "journal_transactions_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "ledger_entries" (
    "id" UUID NOT NULL,
    "transaction_id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "direction" VARCHAR(6) NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "effective_at" TIMESTAMPTZ(3) NOT NULL,
    "posted_at" TIMESTAMPTZ(3) NOT NULL,

    CONSTRAINT "ledger_entries_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "ledger_accounts_code_currency_shard_key" ON "ledger_accounts"("code", "currency", "shard");

-- CreateIndex
CREATE UNIQUE INDEX "journal_transactions_reference_key" ON "journal_transactions"("reference");

-- CreateIndex
CREATE UNIQUE INDEX "journal_transactions_reverses_transaction_id_key" ON "journal_transactions"("reverses_transaction_id");

-- CreateIndex
CREATE INDEX "journal_transactions_correlation_id_effective_at_idx" ON "journal_transactions"("correlation_id", "effective_at");

-- CreateIndex
CREATE INDEX "journal_transactions_effective_at_idx" ON "journal_transactions"("effective_at");

-- CreateIndex
CREATE INDEX "journal_transactions_causation_event_id_idx" ON "journal_transactions"("causation_event_id");

-- CreateIndex
CREATE INDEX "journal_transactions_posted_at_id_idx" ON "journal_transactions"("posted_at", "id");

-- CreateIndex
CREATE INDEX "journal_transactions_kind_posted_at_id_idx" ON "journal_transactions"("kind", "posted_at", "id");

-- CreateIndex
CREATE INDEX "ledger_entries_account_id_effective_at_idx" ON "ledger_entries"("account_id", "effective_at");

-- CreateIndex
CREATE INDEX "ledger_entries_account_id_posted_at_id_idx" ON "ledger_entries"("account_id", "posted_at", "id");

-- CreateIndex
CREATE INDEX "ledger_entries_transaction_id_idx" ON "ledger_entries"("transaction_id");

-- AddForeignKey
ALTER TABLE "journal_transactions" ADD CONSTRAINT "journal_transactions_reverses_transaction_id_fkey" FOREIGN KEY ("reverses_transaction_id") REFERENCES "journal_transactions"("id") ON DELETE RESTRICT ON UPDATE RESTRICT;

-- AddForeignKey
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_transaction_id_fkey" FOREIGN KEY ("transaction_id") REFERENCES "journal_transactions"("id") ON DELETE RESTRICT ON UPDATE RESTRICT;

-- AddForeignKey
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "ledger_accounts"("id") ON DELETE RESTRICT ON UPDATE RESTRICT;

-- Invariants: prisma/ledger/sql/ledger-invariants.sql, appended unchanged ----------------------------------
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

-- Posting function: prisma/ledger/sql/ledger-posting.sql, appended unchanged ----------------------------------
-- The posting protocol of prisma/ledger/schema.prisma as one server-side function, so a posting
-- is ONE statement (one round trip; atomic on its own, or part of a caller's transaction):
--   lock the touched accounts FOR UPDATE in (code, currency, shard) order (creating missing ones),
--   insert the journal transaction (reference UNIQUE: an already-posted reference writes nothing
--   and returns the existing row with posted = false), insert the entries, add each account's
--   delta to its running balance, and return the entries as written for the caller's read-back
--   check. The deferred constraint triggers (ledger-invariants.sql) check the balance at COMMIT.
-- Input: one array element per entry (parallel arrays). The caller validated the draft
-- (validateTransaction); the function still refuses what would corrupt the books.
-- Appended to the migration that creates the ledger tables, after ledger-invariants.sql. Idempotent.

CREATE OR REPLACE FUNCTION ledger_post_transaction(
  p_id uuid,
  p_reference text,
  p_kind text,
  p_effective_at timestamptz,
  p_metadata jsonb,
  p_causation_event_id text,
  p_correlation_id text,
  p_reverses_reference text,
  p_codes text[],
  p_currencies text[],
  p_shards int2[],
  p_types text[],
  p_normal_balances text[],
  p_directions text[],
  p_amounts int8[]
) RETURNS TABLE (transaction_id uuid, posted boolean, posted_at timestamptz, entries jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  v_slot_count int;
  v_locked int;
  v_id uuid;
  v_effective_at timestamptz;
  v_posted_at timestamptz;
  v_entry_count int;
  v_updated int;
BEGIN
  v_entry_count := coalesce(array_length(p_codes, 1), 0);
  IF v_entry_count < 2 OR v_entry_count <> array_length(p_currencies, 1) OR v_entry_count <> array_length(p_shards, 1)
     OR v_entry_count <> array_length(p_types, 1) OR v_entry_count <> array_length(p_normal_balances, 1)
     OR v_entry_count <> array_length(p_directions, 1) OR v_entry_count <> array_length(p_amounts, 1) THEN
    RAISE EXCEPTION 'ledger_post_transaction: entry arrays must have the same length >= 2' USING ERRCODE = '22023';
  END IF;

  SELECT count(DISTINCT (k.code, k.currency, k.shard)) INTO v_slot_count
    FROM unnest(p_codes, p_currencies, p_shards) AS k(code, currency, shard);

  -- Lock in the fixed order; LockRows sits above the Sort, so rows are locked in that order.
  SELECT count(*) INTO v_locked FROM (
    SELECT a.id
      FROM ledger_accounts a
      JOIN (SELECT DISTINCT code, currency, shard FROM unnest(p_codes, p_currencies, p_shards) AS k(code, currency, shard)) k
        ON a.code = k.code AND a.currency = k.currency AND a.shard = k.shard
     ORDER BY a.code COLLATE "C", a.currency COLLATE "C", a.shard
       FOR UPDATE OF a
  ) locked;

  IF v_locked < v_slot_count THEN
    INSERT INTO ledger_accounts (id, code, currency, shard, type, normal_balance)
    SELECT gen_random_uuid(), k.code, k.currency, k.shard, k.type, k.normal_balance
      FROM (SELECT DISTINCT code, currency, shard, type, normal_balance
              FROM unnest(p_codes, p_currencies, p_shards, p_types, p_normal_balances) AS u(code, currency, shard, type, normal_balance)) k
     ORDER BY k.code COLLATE "C", k.currency COLLATE "C", k.shard
    ON CONFLICT (code, currency, shard) DO NOTHING;

    SELECT count(*) INTO v_locked FROM (
      SELECT a.id
        FROM ledger_accounts a
        JOIN (SELECT DISTINCT code, currency, shard FROM unnest(p_codes, p_currencies, p_shards) AS k(code, currency, shard)) k
          ON a.code = k.code AND a.currency = k.currency AND a.shard = k.shard
       ORDER BY a.code COLLATE "C", a.currency COLLATE "C", a.shard
         FOR UPDATE OF a
    ) locked;
    IF v_locked <> v_slot_count THEN
      RAISE EXCEPTION 'ledger_post_transaction: locked % of % accounts', v_locked, v_slot_count USING ERRCODE = '55000';
    END IF;
  END IF;

  INSERT INTO journal_transactions AS t (id, reference, kind, effective_at, metadata, causation_event_id, correlation_id, reverses_transaction_id)
  VALUES (p_id, p_reference, p_kind, p_effective_at, coalesce(p_metadata, '{}'::jsonb), p_causation_event_id, p_correlation_id,
          (SELECT r.id FROM journal_transactions r WHERE p_reverses_reference IS NOT NULL AND r.reference = p_reverses_reference))
  ON CONFLICT (reference) DO NOTHING
  RETURNING t.id, t.effective_at, t.posted_at INTO v_id, v_effective_at, v_posted_at;

  IF v_id IS NULL THEN
    RETURN QUERY SELECT t.id, false, t.posted_at, NULL::jsonb FROM journal_transactions t WHERE t.reference = p_reference;
    RETURN;
  END IF;

  INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount_minor, currency, effective_at, posted_at)
  SELECT gen_random_uuid(), v_id, a.id, x.direction, x.amount_minor, x.currency, v_effective_at, v_posted_at
    FROM unnest(p_codes, p_currencies, p_shards, p_directions, p_amounts) AS x(code, currency, shard, direction, amount_minor)
    JOIN ledger_accounts a ON a.code = x.code AND a.currency = x.currency AND a.shard = x.shard;

  UPDATE ledger_accounts a
     SET balance_minor = a.balance_minor + d.delta_minor, version = a.version + 1, updated_at = v_posted_at
    FROM (SELECT e.account_id, sum(CASE WHEN e.direction = acc.normal_balance THEN e.amount_minor ELSE -e.amount_minor END) AS delta_minor
            FROM ledger_entries e JOIN ledger_accounts acc ON acc.id = e.account_id
           WHERE e.transaction_id = v_id
           GROUP BY e.account_id) d
   WHERE a.id = d.account_id;
  GET DIAGNOSTICS v_updated = ROW_COUNT;
  IF v_updated <> v_slot_count THEN
    RAISE EXCEPTION 'ledger_post_transaction: updated % of % account balances', v_updated, v_slot_count USING ERRCODE = '55000';
  END IF;

  RETURN QUERY
    SELECT v_id, true, v_posted_at,
           (SELECT jsonb_agg(jsonb_build_object('code', a.code, 'currency', e.currency, 'shard', a.shard, 'direction', e.direction, 'amount_minor', e.amount_minor::text))
              FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
             WHERE e.transaction_id = v_id);
END;
$$;
