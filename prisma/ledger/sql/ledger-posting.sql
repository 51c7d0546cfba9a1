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
