// Writes one validated journal transaction, following the locking protocol in
// prisma/ledger/schema.prisma: upsert accounts, lock them FOR UPDATE in (code, currency, shard)
// order, insert transaction + entries, bump running balances — all inside one server-side
// function call, so a posting is one round trip — then check what the database returned against
// the draft (TigerStyle: assert after the read-back).
import { randomUUID } from 'node:crypto';
import type { SqlClient } from '@clearhouse/shared';
import { invariant } from '@clearhouse/shared';
import type { JournalTransactionDraft } from '../domain/index.js';
import { describeAccount } from '../domain/index.js';
import { shardFor } from './sub-accounts.js';

export interface PostedTransactionRef {
  readonly id: string;
  readonly reference: string;
  readonly kind: string;
  readonly postedAt: Date;
}

export type WriteOutcome = { readonly status: 'posted'; readonly transaction: PostedTransactionRef } | { readonly status: 'duplicate'; readonly transaction: PostedTransactionRef };

interface PostRow {
  transaction_id: string;
  posted: boolean;
  posted_at: Date;
  entries: { code: string; currency: string; shard: number; direction: string; amount_minor: string }[] | null;
}

/**
 * A reversal whose target is not posted (yet). Its cause travels on another queue (payout.failed
 * and payout.requested, dispute.won and dispute.opened) and may arrive first: the caller retries
 * later rather than post the reversal unlinked, which would lose the link and the "reversed at
 * most once" rule for that pair.
 */
export class ReversalTargetMissingError extends Error {
  override readonly name = 'ReversalTargetMissingError';
  constructor(
    readonly reference: string,
    readonly reversesReference: string,
  ) {
    super(`${reference} reverses ${reversesReference}, which is not posted (yet)`);
  }
}

const POST_SQL = `SELECT transaction_id::text AS transaction_id, posted, posted_at, entries
  FROM ledger_post_transaction($1::uuid, $2, $3, $4::timestamptz, $5::jsonb, $6, $7, $8,
       $9::text[], $10::text[], $11::int2[], $12::text[], $13::text[], $14::text[], $15::int8[])`;

/**
 * Writes a draft that validateTransaction accepted, in one statement (ledger_post_transaction,
 * the ledger_post_transaction function in prisma/ledger/migrations/*_ledger_journal). A draft whose reference is already posted writes
 * nothing and returns the existing transaction ('duplicate').
 */
export async function writeJournalTransaction(tx: SqlClient, draft: JournalTransactionDraft, hotAccountShards: number): Promise<WriteOutcome> {
  const definitions = draft.entries.map((entry) => {
    const definition = describeAccount(entry.accountCode);
    invariant(definition !== undefined, `unknown account ${entry.accountCode}`);
    return definition;
  });
  if (draft.reversesReference !== undefined) {
    // Journal transactions are never deleted: once seen, the target stays for the insert below.
    const target = await tx.$queryRawUnsafe<unknown[]>('SELECT 1 FROM journal_transactions WHERE reference = $1', draft.reversesReference);
    if (target.length === 0) throw new ReversalTargetMissingError(draft.reference, draft.reversesReference);
  }
  const shards = draft.entries.map((entry) => shardFor(entry.accountCode, draft.reference, hotAccountShards));
  const metadata = draft.reversesReference === undefined ? draft.metadata : { ...draft.metadata, reversesReference: draft.reversesReference };
  const rows = await tx.$queryRawUnsafe<PostRow[]>(
    POST_SQL,
    randomUUID(),
    draft.reference,
    draft.kind,
    draft.effectiveAt.toISOString(),
    JSON.stringify(metadata),
    draft.causationEventId ?? null,
    draft.correlationId ?? null,
    draft.reversesReference ?? null,
    draft.entries.map((entry) => entry.accountCode),
    draft.entries.map((entry) => entry.currency),
    shards,
    definitions.map((definition) => definition.type),
    definitions.map((definition) => definition.normalBalance),
    draft.entries.map((entry) => entry.direction),
    draft.entries.map((entry) => entry.amountMinor.toString()),
  );
  const row = rows[0];
  invariant(row !== undefined, `ledger_post_transaction returned nothing for ${draft.reference}`);
  const transaction = { id: row.transaction_id, reference: draft.reference, kind: draft.kind, postedAt: new Date(row.posted_at) };
  if (!row.posted) return { status: 'duplicate', transaction };
  assertWrittenMatchesDraft(row, draft, shards);
  return { status: 'posted', transaction };
}

interface BatchPostRow extends PostRow {
  posting: number;
}

const POST_BATCH_SQL = `SELECT posting, transaction_id::text AS transaction_id, posted, posted_at, entries
  FROM ledger_post_transactions($1::uuid[], $2::text[], $3::text[], $4::timestamptz[], $5::jsonb[], $6::text[], $7::text[], $8::text[],
       $9::int4[], $10::text[], $11::text[], $12::int2[], $13::text[], $14::text[], $15::text[], $16::int8[])`;

/**
 * Writes validated drafts in one statement (ledger_post_transactions, set-based: one lock pass,
 * one insert per table, one balance update per account), in order: of two drafts with the same
 * reference, or one already posted, only the first is written and the others are 'duplicate'.
 * Drafts that reverse another transaction are written one by one, after the others, so a
 * reversal always finds what it reverses.
 */
export async function writeJournalTransactions(tx: SqlClient, drafts: readonly JournalTransactionDraft[], hotAccountShards: number): Promise<WriteOutcome[]> {
  const outcomes: (WriteOutcome | undefined)[] = drafts.map(() => undefined);
  const batchable = drafts.flatMap((draft, index) => (draft.reversesReference === undefined ? [index] : []));
  if (batchable.length === 1) outcomes[batchable[0]!] = await writeJournalTransaction(tx, drafts[batchable[0]!]!, hotAccountShards);
  if (batchable.length > 1) {
    const written = await writeBatch(
      tx,
      batchable.map((index) => drafts[index]!),
      hotAccountShards,
    );
    batchable.forEach((draftIndex, position) => {
      outcomes[draftIndex] = written[position];
    });
  }
  for (const [index, draft] of drafts.entries()) {
    if (draft.reversesReference !== undefined) outcomes[index] = await writeJournalTransaction(tx, draft, hotAccountShards);
  }
  return outcomes.map((outcome, index) => {
    invariant(outcome !== undefined, `no outcome for ${drafts[index]?.reference}`);
    return outcome;
  });
}

async function writeBatch(tx: SqlClient, drafts: readonly JournalTransactionDraft[], hotAccountShards: number): Promise<WriteOutcome[]> {
  const entryPostings: number[] = [];
  const codes: string[] = [];
  const currencies: string[] = [];
  const shardsOfEntries: number[] = [];
  const types: string[] = [];
  const normalBalances: string[] = [];
  const directions: string[] = [];
  const amounts: string[] = [];
  const shardsByDraft = drafts.map((draft, index) => {
    const shards = draft.entries.map((entry) => shardFor(entry.accountCode, draft.reference, hotAccountShards));
    draft.entries.forEach((entry, entryIndex) => {
      const definition = describeAccount(entry.accountCode);
      invariant(definition !== undefined, `unknown account ${entry.accountCode}`);
      entryPostings.push(index + 1);
      codes.push(entry.accountCode);
      currencies.push(entry.currency);
      shardsOfEntries.push(shards[entryIndex]!);
      types.push(definition.type);
      normalBalances.push(definition.normalBalance);
      directions.push(entry.direction);
      amounts.push(entry.amountMinor.toString());
    });
    return shards;
  });
  const rows = await tx.$queryRawUnsafe<BatchPostRow[]>(
    POST_BATCH_SQL,
    drafts.map(() => randomUUID()),
    drafts.map((draft) => draft.reference),
    drafts.map((draft) => draft.kind),
    drafts.map((draft) => draft.effectiveAt.toISOString()),
    drafts.map((draft) => JSON.stringify(draft.metadata)),
    drafts.map((draft) => draft.causationEventId ?? null),
    drafts.map((draft) => draft.correlationId ?? null),
    // Reversals never come here (writeJournalTransactions posts them one by one, after the rest).
    drafts.map(() => null),
    entryPostings,
    codes,
    currencies,
    shardsOfEntries,
    types,
    normalBalances,
    directions,
    amounts,
  );
  invariant(rows.length === drafts.length, `ledger_post_transactions returned ${rows.length} rows for ${drafts.length} drafts`);
  return rows.map((row, index) => {
    const draft = drafts[index]!;
    invariant(Number(row.posting) === index + 1, `ledger_post_transactions answered out of order at ${index + 1}`);
    const transaction = { id: row.transaction_id, reference: draft.reference, kind: draft.kind, postedAt: new Date(row.posted_at) };
    if (!row.posted) return { status: 'duplicate', transaction };
    assertWrittenMatchesDraft(row, draft, shardsByDraft[index]!);
    return { status: 'posted', transaction };
  });
}

/** Postcondition: the database holds exactly the draft's legs, on the intended rows, balanced. */
function assertWrittenMatchesDraft(row: PostRow, draft: JournalTransactionDraft, shards: readonly number[]): void {
  const entries = row.entries ?? [];
  invariant(entries.length === draft.entries.length, `wrote ${entries.length} of ${draft.entries.length} entries`);
  const expected = draft.entries.map((entry, index) => `${entry.accountCode}|${entry.currency}|${shards[index]}|${entry.direction}|${entry.amountMinor}`).sort();
  const actual = entries.map((entry) => `${entry.code}|${entry.currency}|${entry.shard}|${entry.direction}|${BigInt(entry.amount_minor)}`).sort();
  invariant(expected.join(',') === actual.join(','), 'the written entries differ from the draft');
  const netByCurrency = new Map<string, bigint>();
  for (const entry of entries) {
    const signedMinor = entry.direction === 'DEBIT' ? BigInt(entry.amount_minor) : -BigInt(entry.amount_minor);
    netByCurrency.set(entry.currency, (netByCurrency.get(entry.currency) ?? 0n) + signedMinor);
  }
  for (const [currency, netMinor] of netByCurrency) invariant(netMinor === 0n, `written transaction is unbalanced in ${currency} by ${netMinor}`);
}

export async function findTransactionRef(tx: SqlClient, reference: string): Promise<PostedTransactionRef | undefined> {
  const rows = await tx.$queryRawUnsafe<{ id: string; reference: string; kind: string; posted_at: Date }[]>(
    `SELECT id::text AS id, reference, kind, posted_at FROM journal_transactions WHERE reference = $1`,
    reference,
  );
  const row = rows[0];
  return row === undefined ? undefined : { id: row.id, reference: row.reference, kind: row.kind, postedAt: new Date(row.posted_at) };
}
