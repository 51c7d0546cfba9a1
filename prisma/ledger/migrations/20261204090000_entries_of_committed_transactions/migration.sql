-- A committed journal transaction is immutable: no entry may be added to it later, not even a
-- balanced pair (ARCHITECTURE.md "Ledger": append-only, corrected only by a reversing
-- transaction, enforced in the database). Until now ledger_entries_check_at_commit (from
-- 20261124055509_ledger_journal) only re-checked such late entries for balance, so
-- INSERTing a DEBIT and a CREDIT of the same amount into an old payment posting (moving money
-- between two sellers inside it) committed. Entries are now accepted only for a journal
-- transaction written by the committing database transaction itself (top level, as
-- ledger_post_transactions does, or one of its subtransactions); anything else raises 55000
-- like UPDATE and DELETE do. The hot path (entries of a row inserted at top level) costs the
-- same single look-up as before.

-- True when xid (a row's xmin) belongs to the current database transaction or one of its
-- subtransactions. xmin is 32 bits: it is widened with the current epoch. Our own xids are never
-- older than the top-level xid (a subtransaction's parent is assigned its xid first), and a
-- visible row's xmin is an xid already assigned (rows old enough to wrap around are frozen and
-- show xmin 2), so pg_xact_status, which rejects future xids, only sees assigned ones.
CREATE OR REPLACE FUNCTION ledger_xid_is_current_transaction(p_xid xid) RETURNS boolean LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  v_top bigint := pg_current_xact_id()::text::bigint;
  v_candidate bigint;
BEGIN
  IF p_xid IS NULL THEN
    RETURN false;
  END IF;
  v_candidate := ((v_top >> 32) << 32) + p_xid::text::bigint;
  IF v_candidate < v_top OR v_candidate - v_top >= 2147483648 THEN
    RETURN false;
  END IF;
  -- Committed rows of other transactions are visible (READ COMMITTED); only ours are in progress.
  RETURN pg_xact_status(v_candidate::text::xid8) = 'in progress';
END;
$$;

CREATE OR REPLACE FUNCTION ledger_entries_check_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  v_xmin xid;
BEGIN
  SELECT t.xmin INTO v_xmin FROM journal_transactions t WHERE t.id = NEW.transaction_id;
  -- Entries of a journal transaction inserted by this same database transaction are checked once,
  -- by journal_transactions_have_entries (one check per posting: the posting hot path).
  IF v_xmin = pg_current_xact_id()::xid THEN
    RETURN NULL;
  END IF;
  IF NOT ledger_xid_is_current_transaction(v_xmin) THEN
    RAISE EXCEPTION 'ledger: journal transaction % is already committed; entries cannot be added to it (the ledger is append-only: post a reversing transaction)', NEW.transaction_id
      USING ERRCODE = '55000';
  END IF;
  -- Inserted by a subtransaction of ours: the full check.
  PERFORM ledger_assert_transaction_valid(NEW.transaction_id);
  RETURN NULL;
END;
$$;
ALTER FUNCTION ledger_entries_check_at_commit() SET enable_seqscan = off;
