-- The posting path finds accounts, transactions and entries by their keys, and an index serves
-- each of those look-ups. Its statements live in PL/pgSQL functions, whose plans every connection
-- caches. Planned while a table was small (a new database, or before the first ANALYZE), such a
-- plan may read the whole table, and it goes on doing so as the table grows, until an ANALYZE
-- invalidates it: measured, the commit-time check read all 7,700 accounts on every posting
-- (0.8 ms of the database's CPU per posting) until autovacuum's first visit, and forever where
-- autovacuum is off. With sequential scans disabled inside these functions, their plans use the
-- indexes whatever the statistics say (BENCHMARKS.md, change 42). Audits and reports, which do
-- read whole tables, are not affected.
ALTER FUNCTION ledger_post_transactions(uuid[], text[], text[], timestamptz[], jsonb[], text[], text[], text[], int4[], text[], text[], int2[], text[], text[], text[], int8[])
  SET enable_seqscan = off;
ALTER FUNCTION ledger_post_transaction(uuid, text, text, timestamptz, jsonb, text, text, text, text[], text[], int2[], text[], text[], text[], int8[])
  SET enable_seqscan = off;
ALTER FUNCTION ledger_lock_accounts(text[], text[], int2[]) SET enable_seqscan = off;
ALTER FUNCTION ledger_assert_transaction_valid(uuid) SET enable_seqscan = off;
ALTER FUNCTION ledger_entries_check_at_commit() SET enable_seqscan = off;
