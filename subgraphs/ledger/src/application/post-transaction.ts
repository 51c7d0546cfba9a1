// The posting use case: validate a draft in the domain, then write it in one database
// transaction (persistence/journal-writer.ts). Posting the same reference twice is a no-op that
// returns the first posting. Standalone calls retry serialization failures and deadlocks a
// bounded number of times; calls inside a caller's transaction (consumers) leave retries to
// the caller, because a failed statement has already aborted that transaction.
import type { SqlClient } from '@clearhouse/shared';
import type { JournalTransactionDraft } from '../domain/index.js';
import { LedgerRuleError, validateTransaction } from '../domain/index.js';
import { writeJournalTransaction, writeJournalTransactions, type PostedTransactionRef, type WriteOutcome } from '../persistence/journal-writer.js';
import { HOT_ACCOUNT_SHARDS_DEFAULT, HOT_ACCOUNT_SHARDS_MAX } from '../persistence/sub-accounts.js';

export type PostOutcome = WriteOutcome;
export type { PostedTransactionRef };

export interface PostingOptions {
  /** Sub-accounts per hot account (1 = no split). */
  readonly hotAccountShards?: number;
}

export const POST_ATTEMPTS_MAX = 6;
const RETRY_DELAY_MS_BASE = 5;

/** Thrown for a draft that breaks a double-entry rule; never written. */
export class PostingRejectedError extends Error {
  override readonly name = 'PostingRejectedError';
  constructor(readonly ruleError: LedgerRuleError) {
    super(`${ruleError.code}: ${ruleError.message}`);
  }
}

function hotAccountShardsOf(options: PostingOptions): number {
  const shards = options.hotAccountShards ?? HOT_ACCOUNT_SHARDS_DEFAULT;
  if (!Number.isInteger(shards) || shards < 1 || shards > HOT_ACCOUNT_SHARDS_MAX) throw new Error(`hotAccountShards must be 1..${HOT_ACCOUNT_SHARDS_MAX}`);
  return shards;
}

/** Posts inside the caller's transaction (e.g. a consumer's, together with its inbox row). */
export async function postTransactionInTx(tx: SqlClient, draft: JournalTransactionDraft, options: PostingOptions = {}): Promise<PostOutcome> {
  const validation = validateTransaction(draft);
  if (!validation.ok) throw new PostingRejectedError(validation.error);
  return writeJournalTransaction(tx, draft, hotAccountShardsOf(options));
}

/** Posts several drafts inside the caller's transaction in one statement; any invalid draft rejects them all. */
export async function postTransactionsInTx(tx: SqlClient, drafts: readonly JournalTransactionDraft[], options: PostingOptions = {}): Promise<PostOutcome[]> {
  for (const draft of drafts) {
    const validation = validateTransaction(draft);
    if (!validation.ok) throw new PostingRejectedError(validation.error);
  }
  return writeJournalTransactions(tx, drafts, hotAccountShardsOf(options));
}

/** Posts as one autocommitted statement, retrying serialization failures and deadlocks (bounded). */
export async function postTransaction(db: SqlClient, draft: JournalTransactionDraft, options: PostingOptions = {}): Promise<PostOutcome> {
  const validation = validateTransaction(draft);
  if (!validation.ok) throw new PostingRejectedError(validation.error);
  const shards = hotAccountShardsOf(options);
  for (let attempt = 1; ; attempt++) {
    try {
      // One statement: atomic on its own, so no interactive transaction (and its round trips).
      return await writeJournalTransaction(db, draft, shards);
    } catch (error) {
      if (attempt >= POST_ATTEMPTS_MAX || !isTransactionConflict(error)) throw error;
      await sleep(RETRY_DELAY_MS_BASE * 2 ** (attempt - 1) * (0.5 + Math.random()));
    }
  }
}

const CONFLICT_SQLSTATES = new Set(['40001', '40P01']);
const CONFLICT_PRISMA_CODES = new Set(['P2034']);
const CAUSE_DEPTH_MAX = 5;

/** Serialization failure or deadlock: the transaction lost a race and may simply run again. */
export function isTransactionConflict(error: unknown): boolean {
  let current: unknown = error;
  for (let depth = 0; depth < CAUSE_DEPTH_MAX && typeof current === 'object' && current !== null; depth++) {
    const record = current as Record<string, unknown>;
    if (typeof record.code === 'string' && (CONFLICT_SQLSTATES.has(record.code) || CONFLICT_PRISMA_CODES.has(record.code))) return true;
    const meta = record.meta as { driverAdapterError?: { cause?: { originalCode?: unknown; kind?: unknown } } } | undefined;
    const cause = meta?.driverAdapterError?.cause;
    if (cause && (cause.kind === 'TransactionWriteConflict' || (typeof cause.originalCode === 'string' && CONFLICT_SQLSTATES.has(cause.originalCode)))) return true;
    if (record.kind === 'TransactionWriteConflict' || (typeof record.originalCode === 'string' && CONFLICT_SQLSTATES.has(record.originalCode))) return true;
    current = record.cause;
  }
  return false;
}

function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}
