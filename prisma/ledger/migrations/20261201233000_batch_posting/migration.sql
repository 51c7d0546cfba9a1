-- Batch posting: the posting protocol of ledger_post_transaction (20261124055509_ledger_journal)
-- for many journal transactions in ONE statement, set-based. The ledger's consumers commit the
-- deliveries that arrive together in one database transaction; posting them one function call at
-- a time cost ~1 ms of PostgreSQL CPU per posting (eight statements each), set-based it costs a
-- fraction of that (BENCHMARKS.md). Same guarantees, same order of work:
--   lock every touched account FOR UPDATE in (code, currency, shard) order, creating missing ones;
--   insert the journal transactions (reference UNIQUE: an already-posted reference, or the same
--   reference twice in the batch, writes nothing and returns the existing row with posted = false);
--   insert the entries of the transactions inserted now; add each account's delta to its running
--   balance; return every posting's result, with the entries as written for the read-back check.
-- The deferred constraint triggers still check every transaction's balance at COMMIT.
-- A reversal finds the transaction it reverses among those committed or posted by an earlier
-- statement, never in its own batch: the caller posts reversals one by one, after the rest.
-- ledger_post_transaction (one posting) becomes a call of this function, so the posting protocol
-- has one implementation; the account locking is one helper used by both passes.
-- Input: postings as parallel arrays (one element per posting), entries as parallel arrays (one
-- element per entry) with p_entry_postings giving each entry's posting (1-based).

-- Locks the accounts of (code, currency, shard) FOR UPDATE in that fixed order (so concurrent
-- postings never deadlock on them); returns how many exist.
CREATE OR REPLACE FUNCTION ledger_lock_accounts(p_codes text[], p_currencies text[], p_shards int2[]) RETURNS int
LANGUAGE sql AS $$
  -- LockRows sits above the Sort, so rows are locked in that order.
  SELECT count(*)::int FROM (
    SELECT a.id
      FROM ledger_accounts a
      JOIN (SELECT DISTINCT code, currency, shard FROM unnest(p_codes, p_currencies, p_shards) AS k(code, currency, shard)) k
        ON a.code = k.code AND a.currency = k.currency AND a.shard = k.shard
     ORDER BY a.code COLLATE "C", a.currency COLLATE "C", a.shard
       FOR UPDATE OF a
  ) locked;
$$;

CREATE OR REPLACE FUNCTION ledger_post_transactions(
  p_ids uuid[],
  p_references text[],
  p_kinds text[],
  p_effective_ats timestamptz[],
  p_metadata jsonb[],
  p_causation_event_ids text[],
  p_correlation_ids text[],
  p_reverses_references text[],
  p_entry_postings int4[],
  p_codes text[],
  p_currencies text[],
  p_shards int2[],
  p_types text[],
  p_normal_balances text[],
  p_directions text[],
  p_amounts int8[]
) RETURNS TABLE (posting int4, transaction_id uuid, posted boolean, posted_at timestamptz, entries jsonb)
LANGUAGE plpgsql AS $$
DECLARE
  v_posting_count int;
  v_entry_count int;
  v_slot_count int;
  v_locked int;
  v_inserted uuid[];
  v_touched int;
  v_updated int;
BEGIN
  v_posting_count := coalesce(array_length(p_ids, 1), 0);
  v_entry_count := coalesce(array_length(p_codes, 1), 0);
  IF v_posting_count < 1 OR v_posting_count <> coalesce(array_length(p_references, 1), 0) OR v_posting_count <> coalesce(array_length(p_kinds, 1), 0)
     OR v_posting_count <> coalesce(array_length(p_effective_ats, 1), 0) OR v_posting_count <> coalesce(array_length(p_metadata, 1), 0)
     OR v_posting_count <> coalesce(array_length(p_causation_event_ids, 1), 0) OR v_posting_count <> coalesce(array_length(p_correlation_ids, 1), 0)
     OR v_posting_count <> coalesce(array_length(p_reverses_references, 1), 0) THEN
    RAISE EXCEPTION 'ledger_post_transactions: posting arrays must have the same length >= 1' USING ERRCODE = '22023';
  END IF;
  IF v_entry_count < 2 * v_posting_count OR v_entry_count <> coalesce(array_length(p_entry_postings, 1), 0)
     OR v_entry_count <> coalesce(array_length(p_currencies, 1), 0) OR v_entry_count <> coalesce(array_length(p_shards, 1), 0)
     OR v_entry_count <> coalesce(array_length(p_types, 1), 0) OR v_entry_count <> coalesce(array_length(p_normal_balances, 1), 0)
     OR v_entry_count <> coalesce(array_length(p_directions, 1), 0) OR v_entry_count <> coalesce(array_length(p_amounts, 1), 0) THEN
    RAISE EXCEPTION 'ledger_post_transactions: entry arrays must have the same length, at least 2 per posting' USING ERRCODE = '22023';
  END IF;
  IF EXISTS (
    SELECT 1 FROM (SELECT e.p, count(*) AS n FROM unnest(p_entry_postings) AS e(p) GROUP BY e.p) per_posting
     WHERE per_posting.p < 1 OR per_posting.p > v_posting_count OR per_posting.n < 2
  ) OR (SELECT count(DISTINCT e.p) FROM unnest(p_entry_postings) AS e(p)) <> v_posting_count THEN
    RAISE EXCEPTION 'ledger_post_transactions: every posting needs at least 2 entries' USING ERRCODE = '22023';
  END IF;

  SELECT count(DISTINCT (k.code, k.currency, k.shard)) INTO v_slot_count
    FROM unnest(p_codes, p_currencies, p_shards) AS k(code, currency, shard);

  v_locked := ledger_lock_accounts(p_codes, p_currencies, p_shards);
  IF v_locked < v_slot_count THEN
    INSERT INTO ledger_accounts (id, code, currency, shard, type, normal_balance)
    SELECT gen_random_uuid(), k.code, k.currency, k.shard, k.type, k.normal_balance
      FROM (SELECT DISTINCT code, currency, shard, type, normal_balance
              FROM unnest(p_codes, p_currencies, p_shards, p_types, p_normal_balances) AS u(code, currency, shard, type, normal_balance)) k
     ORDER BY k.code COLLATE "C", k.currency COLLATE "C", k.shard
    ON CONFLICT (code, currency, shard) DO NOTHING;
    v_locked := ledger_lock_accounts(p_codes, p_currencies, p_shards);
    IF v_locked <> v_slot_count THEN
      RAISE EXCEPTION 'ledger_post_transactions: locked % of % accounts', v_locked, v_slot_count USING ERRCODE = '55000';
    END IF;
  END IF;

  -- In input order, so of two postings with one reference the first is the one written.
  WITH inserted AS (
    INSERT INTO journal_transactions AS t (id, reference, kind, effective_at, metadata, causation_event_id, correlation_id, reverses_transaction_id)
    SELECT i.id, i.reference, i.kind, i.effective_at, coalesce(i.metadata, '{}'::jsonb), i.causation_event_id, i.correlation_id,
           (SELECT r.id FROM journal_transactions r WHERE i.reverses_reference IS NOT NULL AND r.reference = i.reverses_reference)
      FROM unnest(p_ids, p_references, p_kinds, p_effective_ats, p_metadata, p_causation_event_ids, p_correlation_ids, p_reverses_references)
             WITH ORDINALITY AS i(id, reference, kind, effective_at, metadata, causation_event_id, correlation_id, reverses_reference, n)
     ORDER BY i.n
    ON CONFLICT (reference) DO NOTHING
    RETURNING t.id
  )
  SELECT coalesce(array_agg(inserted.id), '{}') INTO v_inserted FROM inserted;

  IF array_length(v_inserted, 1) > 0 THEN
    INSERT INTO ledger_entries (id, transaction_id, account_id, direction, amount_minor, currency, effective_at, posted_at)
    SELECT gen_random_uuid(), t.id, a.id, x.direction, x.amount_minor, x.currency, t.effective_at, t.posted_at
      FROM unnest(p_entry_postings, p_codes, p_currencies, p_shards, p_directions, p_amounts) AS x(p, code, currency, shard, direction, amount_minor)
      JOIN unnest(v_inserted) AS ins(id) ON ins.id = p_ids[x.p]
      JOIN journal_transactions t ON t.id = ins.id
      JOIN ledger_accounts a ON a.code = x.code AND a.currency = x.currency AND a.shard = x.shard;

    -- The deltas come from the same input rows the INSERT above wrote (the read-back below and the
    -- commit-time triggers check what was written); one UPDATE per touched account.
    WITH deltas AS (
      SELECT a.id AS account_id,
             sum(CASE WHEN x.direction = a.normal_balance THEN x.amount_minor ELSE -x.amount_minor END) AS delta_minor
        FROM unnest(p_entry_postings, p_codes, p_currencies, p_shards, p_directions, p_amounts) AS x(p, code, currency, shard, direction, amount_minor)
        JOIN unnest(v_inserted) AS ins(id) ON ins.id = p_ids[x.p]
        JOIN ledger_accounts a ON a.code = x.code AND a.currency = x.currency AND a.shard = x.shard
       GROUP BY a.id
    ), updated AS (
      UPDATE ledger_accounts a
         SET balance_minor = a.balance_minor + d.delta_minor, version = a.version + 1, updated_at = now()
        FROM deltas d
       WHERE a.id = d.account_id
      RETURNING a.id
    )
    SELECT (SELECT count(*) FROM deltas), (SELECT count(*) FROM updated) INTO v_touched, v_updated;
    IF v_updated <> v_touched THEN
      RAISE EXCEPTION 'ledger_post_transactions: updated % of % account balances', v_updated, v_touched USING ERRCODE = '55000';
    END IF;
  END IF;

  RETURN QUERY
    SELECT i.n::int4, t.id, t.id = i.id, t.posted_at,
           CASE WHEN t.id = i.id THEN
             (SELECT jsonb_agg(jsonb_build_object('code', a.code, 'currency', e.currency, 'shard', a.shard, 'direction', e.direction, 'amount_minor', e.amount_minor::text))
                FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
               WHERE e.transaction_id = t.id)
           END
      FROM unnest(p_ids, p_references) WITH ORDINALITY AS i(id, reference, n)
      JOIN journal_transactions t ON t.reference = i.reference
     ORDER BY i.n;
END;
$$;

-- One posting: the batch function with one element (same result columns as before).
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
LANGUAGE sql AS $$
  SELECT b.transaction_id, b.posted, b.posted_at, b.entries
    FROM ledger_post_transactions(ARRAY[p_id], ARRAY[p_reference], ARRAY[p_kind], ARRAY[p_effective_at], ARRAY[p_metadata],
           ARRAY[p_causation_event_id], ARRAY[p_correlation_id], ARRAY[p_reverses_reference],
           array_fill(1, ARRAY[coalesce(array_length(p_codes, 1), 0)]), p_codes, p_currencies, p_shards, p_types, p_normal_balances, p_directions, p_amounts) b;
$$;
