-- The nightly reconciliation finds the postings that name the PSP ids on the day's lines
-- (reconciliation-store.ts: loadLedgerForDay). Those ids live in journal_transactions.metadata,
-- which nothing indexed: every batch of 1,000 ids scanned the whole journal, twice (the lookup
-- and the reversal check), ~2 s per batch at 2 million postings, and a day of a million
-- payments has some two thousand batches. One partial expression index per id and kind, and
-- statistics on each expression so the planner knows the ids are (nearly) unique: partial
-- indexes lend the planner no statistics of their own, and without them it expects thousands
-- of rows per id and scans the table anyway.
--
-- schema.prisma cannot describe expression indexes or extended statistics; the migrations test
-- leaves them out of its comparison (shared/src/db/schema-dump.ts). On a large live journal,
-- build the indexes with CREATE INDEX CONCURRENTLY (same names) before deploying: a plain
-- CREATE INDEX blocks postings while it runs, and IF NOT EXISTS then skips them here.

CREATE INDEX IF NOT EXISTS "journal_transactions_psp_payment_intent_idx" ON "journal_transactions" ((metadata ->> 'pspPaymentIntentId')) WHERE kind = 'payment_succeeded';
CREATE INDEX IF NOT EXISTS "journal_transactions_psp_charge_idx" ON "journal_transactions" ((metadata ->> 'pspChargeId')) WHERE kind = 'payment_succeeded';
CREATE INDEX IF NOT EXISTS "journal_transactions_psp_refund_idx" ON "journal_transactions" ((metadata ->> 'pspRefundId')) WHERE kind = 'refund_succeeded';
CREATE INDEX IF NOT EXISTS "journal_transactions_psp_payout_idx" ON "journal_transactions" ((metadata ->> 'pspPayoutId')) WHERE kind IN ('payout_paid', 'payout_failed');
CREATE INDEX IF NOT EXISTS "journal_transactions_psp_dispute_idx" ON "journal_transactions" ((metadata ->> 'pspDisputeId')) WHERE kind = 'dispute_opened';
CREATE INDEX IF NOT EXISTS "journal_transactions_fee_source_idx" ON "journal_transactions" ((metadata ->> 'sourceId')) WHERE kind = 'psp_fee_booked';
CREATE INDEX IF NOT EXISTS "journal_transactions_dispute_won_idx" ON "journal_transactions" ((metadata ->> 'disputeId')) WHERE kind = 'dispute_won';

CREATE STATISTICS IF NOT EXISTS "journal_transactions_psp_payment_intent_stat" ON (metadata ->> 'pspPaymentIntentId') FROM "journal_transactions";
CREATE STATISTICS IF NOT EXISTS "journal_transactions_psp_charge_stat" ON (metadata ->> 'pspChargeId') FROM "journal_transactions";
CREATE STATISTICS IF NOT EXISTS "journal_transactions_psp_refund_stat" ON (metadata ->> 'pspRefundId') FROM "journal_transactions";
CREATE STATISTICS IF NOT EXISTS "journal_transactions_psp_payout_stat" ON (metadata ->> 'pspPayoutId') FROM "journal_transactions";
CREATE STATISTICS IF NOT EXISTS "journal_transactions_psp_dispute_stat" ON (metadata ->> 'pspDisputeId') FROM "journal_transactions";
CREATE STATISTICS IF NOT EXISTS "journal_transactions_fee_source_stat" ON (metadata ->> 'sourceId') FROM "journal_transactions";
CREATE STATISTICS IF NOT EXISTS "journal_transactions_dispute_won_stat" ON (metadata ->> 'disputeId') FROM "journal_transactions";
