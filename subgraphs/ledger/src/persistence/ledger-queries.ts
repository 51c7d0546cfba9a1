// Read side of the ledger: balances (now and as of a past instant), trial balance, entries and
// journal transactions with cursor pagination (newest first). Hot accounts are summed over
// their shards, so callers always see one account per (code, currency).
import type { SqlClient } from '@clearhouse/shared';
import { invariant } from '@clearhouse/shared';
import { describeAccount, type AccountType, type Direction } from '../domain/index.js';

export const PAGE_SIZE_MAX = 200;

export interface AccountView {
  readonly code: string;
  readonly currency: string;
  readonly type: AccountType;
  readonly balanceMinor: bigint;
}

export interface EntryView {
  readonly id: string;
  readonly transactionId: string;
  readonly accountCode: string;
  readonly direction: Direction;
  readonly amountMinor: bigint;
  readonly currency: string;
  readonly effectiveAt: Date;
  readonly postedAt: Date;
}

export interface TransactionView {
  readonly id: string;
  readonly reference: string;
  readonly kind: string;
  readonly effectiveAt: Date;
  readonly postedAt: Date;
  readonly correlationId: string | null;
  readonly metadata: Record<string, unknown>;
  readonly entries: readonly EntryView[];
}

export interface Page<T> {
  readonly items: readonly { cursor: string; node: T }[];
  readonly hasNextPage: boolean;
}

export interface TrialBalanceView {
  readonly currency: string;
  readonly totalDebitsMinor: bigint;
  readonly totalCreditsMinor: bigint;
}

/** Cursor of a (posted_at, id) position: opaque to clients, exact to the millisecond. */
export function encodeCursor(postedAt: Date, id: string): string {
  return Buffer.from(`${postedAt.toISOString()}|${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): { postedAt: Date; id: string } | undefined {
  const text = Buffer.from(cursor, 'base64url').toString('utf8');
  const separator = text.indexOf('|');
  if (separator < 0) return undefined;
  const postedAt = new Date(text.slice(0, separator));
  const id = text.slice(separator + 1);
  if (Number.isNaN(postedAt.getTime()) || !/^[0-9a-f-]{36}$/.test(id)) return undefined;
  return { postedAt, id };
}

export async function findAccount(db: SqlClient, code: string, currency: string): Promise<AccountView | undefined> {
  const rows = await db.$queryRawUnsafe<{ type: string; balance_minor: string; shards: bigint }[]>(
    `SELECT min(type) AS type, coalesce(sum(balance_minor), 0)::text AS balance_minor, count(*) AS shards
       FROM ledger_accounts WHERE code = $1 AND currency = $2`,
    code,
    currency,
  );
  const row = rows[0];
  if (row === undefined || Number(row.shards) === 0) return undefined;
  return { code, currency, type: row.type as AccountType, balanceMinor: BigInt(row.balance_minor) };
}

/** The balance from the entries effective at or before `at` (signed in the account's normal direction). */
export async function balanceAt(db: SqlClient, code: string, currency: string, at: Date): Promise<bigint> {
  const rows = await db.$queryRawUnsafe<{ balance_minor: string }[]>(
    `SELECT coalesce(sum(CASE WHEN e.direction = a.normal_balance THEN e.amount_minor ELSE -e.amount_minor END), 0)::text AS balance_minor
       FROM ledger_accounts a JOIN ledger_entries e ON e.account_id = a.id
      WHERE a.code = $1 AND a.currency = $2 AND e.effective_at <= $3::timestamptz`,
    code,
    currency,
    at.toISOString(),
  );
  return BigInt(rows[0]?.balance_minor ?? '0');
}

interface EntryRow {
  id: string;
  transaction_id: string;
  code: string;
  direction: string;
  amount_minor: string;
  currency: string;
  effective_at: Date;
  posted_at: Date;
}

const ENTRY_COLUMNS = `e.id::text AS id, e.transaction_id::text AS transaction_id, a.code, e.direction, e.amount_minor::text AS amount_minor,
  e.currency, e.effective_at, e.posted_at`;

function entryView(row: EntryRow): EntryView {
  return {
    id: row.id,
    transactionId: row.transaction_id,
    accountCode: row.code,
    direction: row.direction as Direction,
    amountMinor: BigInt(row.amount_minor),
    currency: row.currency,
    effectiveAt: new Date(row.effective_at),
    postedAt: new Date(row.posted_at),
  };
}

/** An account's entries, newest posted first. */
export async function listAccountEntries(db: SqlClient, code: string, currency: string, first: number, after?: string): Promise<Page<EntryView>> {
  const cursor = after === undefined ? undefined : decodeCursor(after);
  const rows = await db.$queryRawUnsafe<EntryRow[]>(
    `SELECT ${ENTRY_COLUMNS}
       FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
      WHERE a.code = $1 AND a.currency = $2
        AND ($3::timestamptz IS NULL OR (e.posted_at, e.id) < ($3::timestamptz, $4::uuid))
      ORDER BY e.posted_at DESC, e.id DESC
      LIMIT $5`,
    code,
    currency,
    cursor?.postedAt.toISOString() ?? null,
    cursor?.id ?? null,
    first + 1,
  );
  return toPage(rows.map(entryView), first, (entry) => encodeCursor(entry.postedAt, entry.id));
}

interface TransactionRow {
  id: string;
  reference: string;
  kind: string;
  effective_at: Date;
  posted_at: Date;
  correlation_id: string | null;
  metadata: Record<string, unknown> | null;
}

const TRANSACTION_COLUMNS = `t.id::text AS id, t.reference, t.kind, t.effective_at, t.posted_at, t.correlation_id, t.metadata`;

async function withEntries(db: SqlClient, rows: readonly TransactionRow[]): Promise<TransactionView[]> {
  if (rows.length === 0) return [];
  const entryRows = await db.$queryRawUnsafe<EntryRow[]>(
    `SELECT ${ENTRY_COLUMNS}
       FROM ledger_entries e JOIN ledger_accounts a ON a.id = e.account_id
      WHERE e.transaction_id = ANY($1::uuid[])
      ORDER BY e.direction DESC, a.code, e.id`,
    rows.map((row) => row.id),
  );
  const entriesByTransaction = new Map<string, EntryView[]>();
  for (const row of entryRows) {
    const list = entriesByTransaction.get(row.transaction_id) ?? [];
    list.push(entryView(row));
    entriesByTransaction.set(row.transaction_id, list);
  }
  return rows.map((row) => {
    const entries = entriesByTransaction.get(row.id) ?? [];
    invariant(entries.length >= 2, `journal transaction ${row.id} has ${entries.length} entries`);
    return {
      id: row.id,
      reference: row.reference,
      kind: row.kind,
      effectiveAt: new Date(row.effective_at),
      postedAt: new Date(row.posted_at),
      correlationId: row.correlation_id,
      metadata: row.metadata ?? {},
      entries,
    };
  });
}

/** Journal transactions, newest posted first, optionally of one kind. */
export async function listTransactions(db: SqlClient, first: number, after?: string, kind?: string): Promise<Page<TransactionView>> {
  const cursor = after === undefined ? undefined : decodeCursor(after);
  const rows = await db.$queryRawUnsafe<TransactionRow[]>(
    `SELECT ${TRANSACTION_COLUMNS} FROM journal_transactions t
      WHERE ($1::text IS NULL OR t.kind = $1::text)
        AND ($2::timestamptz IS NULL OR (t.posted_at, t.id) < ($2::timestamptz, $3::uuid))
      ORDER BY t.posted_at DESC, t.id DESC
      LIMIT $4`,
    kind ?? null,
    cursor?.postedAt.toISOString() ?? null,
    cursor?.id ?? null,
    first + 1,
  );
  const views = await withEntries(db, rows.slice(0, first));
  return toPage(views, first, (transaction) => encodeCursor(transaction.postedAt, transaction.id), rows.length > first);
}

/**
 * Transactions of payments (or payouts), by the correlation id stored at posting: at most
 * `limitEach` per id, oldest effective first, in two statements however many ids (the gateway
 * resolves a page of payments' ledger transactions in one request). Ids without transactions
 * are absent from the map.
 */
export async function listTransactionsByCorrelations(db: SqlClient, correlationIds: readonly string[], limitEach = PAGE_SIZE_MAX): Promise<Map<string, TransactionView[]>> {
  const distinct = [...new Set(correlationIds)];
  const byCorrelation = new Map<string, TransactionView[]>();
  if (distinct.length === 0) return byCorrelation;
  const rows = await db.$queryRawUnsafe<TransactionRow[]>(
    `SELECT ${TRANSACTION_COLUMNS}
       FROM unnest($1::text[]) AS c(id)
       CROSS JOIN LATERAL (
         SELECT * FROM journal_transactions WHERE correlation_id = c.id ORDER BY effective_at, posted_at, id LIMIT $2
       ) t
      ORDER BY t.correlation_id, t.effective_at, t.posted_at, t.id`,
    distinct,
    limitEach,
  );
  for (const view of await withEntries(db, rows)) {
    const key = view.correlationId as string;
    const list = byCorrelation.get(key) ?? [];
    list.push(view);
    byCorrelation.set(key, list);
  }
  return byCorrelation;
}

/**
 * Trial balance from the running balances (one row per account, summed over shards): total of
 * the debit balances and of the credit balances. Equal when the books balance.
 */
export async function trialBalance(db: SqlClient, currency: string): Promise<TrialBalanceView> {
  const rows = await db.$queryRawUnsafe<{ code: string; balance_minor: string }[]>(
    `SELECT code, sum(balance_minor)::text AS balance_minor FROM ledger_accounts WHERE currency = $1 GROUP BY code`,
    currency,
  );
  let totalDebitsMinor = 0n;
  let totalCreditsMinor = 0n;
  for (const row of rows) {
    const definition = describeAccount(row.code);
    invariant(definition !== undefined, `unknown account ${row.code} in the ledger`);
    const balanceMinor = BigInt(row.balance_minor);
    const debitMinor = definition.normalBalance === 'DEBIT' ? balanceMinor : -balanceMinor;
    if (debitMinor > 0n) totalDebitsMinor += debitMinor;
    else totalCreditsMinor -= debitMinor;
  }
  return { currency, totalDebitsMinor, totalCreditsMinor };
}

export async function ledgerCurrencies(db: SqlClient): Promise<string[]> {
  const rows = await db.$queryRawUnsafe<{ currency: string }[]>(`SELECT DISTINCT currency FROM ledger_accounts ORDER BY currency`);
  return rows.map((row) => row.currency);
}

function toPage<T>(nodes: readonly T[], first: number, cursorOf: (node: T) => string, hasMore?: boolean): Page<T> {
  const pageNodes = nodes.slice(0, first);
  return { items: pageNodes.map((node) => ({ cursor: cursorOf(node), node })), hasNextPage: hasMore ?? nodes.length > first };
}
