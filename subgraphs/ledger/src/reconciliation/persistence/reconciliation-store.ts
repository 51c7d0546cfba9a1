// Reconciliation rows (prisma/ledger/schema.prisma "---- reconciliation ----") and the ledger
// reads matching needs. Raw SQL through the SqlClient the rest of the ledger uses; rows are
// inserted and updated, never deleted (a trigger forbids it).
import { randomUUID } from 'node:crypto';
import type { SqlClient, TransactionalDb } from '@clearhouse/shared';
import { invariant } from '@clearhouse/shared';
import type { DiscrepancyCategory, DiscrepancyKind, DiscrepancyStatus, Finding, LedgerTxView, PspLine, PspSource, UtcDay } from '../domain/types.js';

/** Rows per multi-row INSERT and ids per ANY($n) array: bounded statements. */
const BATCH_SIZE = 1_000;

export class RunInProgressError extends Error {
  override readonly name: string = 'RunInProgressError';
}

/**
 * The attempt finished after a newer one took the run over (it was slow, not dead): nothing of its
 * finish was recorded; the run holds the newer attempt's state.
 */
export class RunSupersededError extends RunInProgressError {
  override readonly name = 'RunSupersededError';
}

/** The attempt a claim made: its finish updates the run only while no newer attempt claimed it. */
export type ClaimedAttempt = Pick<RunRow, 'id' | 'date' | 'source' | 'attempts'>;

async function superseded(db: SqlClient, attempt: ClaimedAttempt): Promise<never> {
  const current = await findRun(db, attempt.id);
  invariant(current !== undefined, `reconciliation run ${attempt.id} vanished`);
  invariant(current.attempts > attempt.attempts, `reconciliation run ${attempt.id} is at attempt ${current.attempts}, before attempt ${attempt.attempts} finished`);
  throw new RunSupersededError(
    `reconciliation of ${attempt.date} (${attempt.source}) attempt ${attempt.attempts} was superseded by attempt ${current.attempts} (${current.status}); its result was not recorded`,
  );
}

export interface RunRow {
  id: string;
  date: string;
  source: PspSource;
  status: 'RUNNING' | 'COMPLETED' | 'FAILED';
  lineCount: number;
  matchedCount: number;
  attempts: number;
  report: Record<string, unknown>;
  error: string | null;
  startedAt: Date;
  finishedAt: Date | null;
  /** When an attempt last completed (kept across later attempts); null until one does. */
  completedAt: Date | null;
}

export interface DiscrepancyRow {
  id: string;
  date: string;
  kind: DiscrepancyKind;
  subject: string;
  category: DiscrepancyCategory;
  status: DiscrepancyStatus;
  pspReference: string;
  balanceTransactionId: string | null;
  ledgerReference: string | null;
  currency: string | null;
  expectedMinor: bigint | null;
  actualMinor: bigint | null;
  rule: string;
  note: string | null;
  detail: Record<string, unknown>;
  firstRunId: string;
  lastRunId: string;
  createdAt: Date;
  updatedAt: Date;
  resolvedAt: Date | null;
  resolvedBy: string | null;
  resolutionNote: string | null;
  correctionReference: string | null;
}

function chunks<T>(items: readonly T[], size = BATCH_SIZE): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) result.push(items.slice(start, start + size));
  return result;
}

const RUN_COLUMNS = `id::text AS id, date, source, status, line_count AS "lineCount", matched_count AS "matchedCount", attempts,
  report, error, started_at AS "startedAt", finished_at AS "finishedAt", completed_at AS "completedAt"`;

/**
 * Claims the (day, source) run: creates it, or takes it over for another attempt unless an
 * attempt started less than staleAfterMs ago is still RUNNING (RunInProgressError). The last
 * completed result (counts, report, completed_at) stays in the row until an attempt completes.
 */
export async function claimRun(db: SqlClient, day: UtcDay, source: PspSource, staleAfterMs: number): Promise<RunRow> {
  const rows = await db.$queryRawUnsafe<RunRow[]>(
    `INSERT INTO reconciliation_runs (id, date, source, status, attempts, started_at)
     VALUES ($1::uuid, $2, $3, 'RUNNING', 1, now())
     ON CONFLICT (date, source) DO UPDATE
       SET status = 'RUNNING', attempts = reconciliation_runs.attempts + 1, started_at = now(), finished_at = NULL, error = NULL
       WHERE reconciliation_runs.status <> 'RUNNING' OR reconciliation_runs.started_at < now() - make_interval(secs => $4::double precision / 1000)
     RETURNING ${RUN_COLUMNS}`,
    randomUUID(),
    day,
    source,
    staleAfterMs,
  );
  const row = rows[0];
  if (!row) throw new RunInProgressError(`a reconciliation of ${day} (${source}) is already running`);
  return row;
}

/** RunSupersededError if a newer attempt took the run over: its side effects need not start. */
export async function assertAttemptCurrent(db: SqlClient, attempt: ClaimedAttempt): Promise<void> {
  const current = await findRun(db, attempt.id);
  invariant(current !== undefined, `reconciliation run ${attempt.id} vanished`);
  if (current.attempts !== attempt.attempts) await superseded(db, attempt);
}

/**
 * The attempt check for a side effect written in the caller's transaction: locks the run row FOR
 * SHARE, so no newer attempt can claim the run (claimRun's update waits) until that transaction
 * commits. Whatever the caller writes under it is therefore visible to any newer attempt's ledger
 * load. RunSupersededError (the caller writes nothing) if a newer attempt took the run over.
 */
export async function lockAttemptCurrent(tx: SqlClient, attempt: ClaimedAttempt): Promise<void> {
  const rows = await tx.$queryRawUnsafe<{ attempts: number }[]>(`SELECT attempts FROM reconciliation_runs WHERE id = $1::uuid FOR SHARE`, attempt.id);
  invariant(rows[0] !== undefined, `reconciliation run ${attempt.id} vanished`);
  if (rows[0].attempts !== attempt.attempts) await superseded(tx, attempt);
}

/**
 * Marks the run COMPLETED with the attempt's result, inside the caller's transaction: the row stays
 * locked until it commits, so no newer attempt can claim the run in between. RunSupersededError
 * (nothing written) if a newer attempt took the run over.
 */
async function completeRun(tx: SqlClient, attempt: ClaimedAttempt, outcome: { lineCount: number; matchedCount: number; report: Record<string, unknown> }): Promise<RunRow> {
  const rows = await tx.$queryRawUnsafe<RunRow[]>(
    `UPDATE reconciliation_runs SET status = 'COMPLETED', line_count = $2, matched_count = $3, report = $4::jsonb, error = NULL, finished_at = now(), completed_at = now()
     WHERE id = $1::uuid AND attempts = $5 RETURNING ${RUN_COLUMNS}`,
    attempt.id,
    outcome.lineCount,
    outcome.matchedCount,
    JSON.stringify(outcome.report),
    attempt.attempts,
  );
  return rows[0] ?? superseded(tx, attempt);
}

export interface CompletedAttempt {
  readonly lines: readonly PspLine[];
  readonly findings: readonly RecordedFinding[];
  readonly matchedCount: number;
  readonly report: Record<string, unknown>;
}

/** Base bound of the recording transaction, plus a bound per batch of lines or findings written. */
const RECORD_FINDINGS_PER_BATCH = 100;
const RECORD_TIMEOUT_MS_BASE = 30_000;
const RECORD_TIMEOUT_MS_PER_BATCH = 1_000;
const RECORD_TIMEOUT_MS_MAX = 15 * 60_000;

/**
 * Records a completed attempt in one transaction: the run's result, the day's PSP lines as this
 * attempt read them (lines of the run it no longer reported are withdrawn) and its findings.
 * The run row is updated (and locked) first, under the attempt check: an attempt a newer one took
 * over writes none of it (RunSupersededError), so the day's lines, discrepancies and report are
 * always those of the attempt whose result the run records.
 */
export async function recordCompletedAttempt(db: TransactionalDb, attempt: ClaimedAttempt, completed: CompletedAttempt): Promise<{ run: RunRow; discrepancies: DiscrepancyRow[] }> {
  const batches = Math.ceil(completed.lines.length / BATCH_SIZE) + Math.ceil(completed.findings.length / RECORD_FINDINGS_PER_BATCH);
  const timeout = Math.min(RECORD_TIMEOUT_MS_MAX, RECORD_TIMEOUT_MS_BASE + batches * RECORD_TIMEOUT_MS_PER_BATCH);
  return db.$transaction(
    async (tx) => {
      const run = await completeRun(tx, attempt, { lineCount: completed.lines.length, matchedCount: completed.matchedCount, report: completed.report });
      await storeLines(tx, attempt, completed.lines);
      // In key order: concurrent runs of the day (the other source) lock shared rows in the same order.
      const findings = [...completed.findings].sort((a, b) => compareKeys(findingKey(a), findingKey(b)));
      for (const finding of findings) await upsertDiscrepancy(tx, attempt.date, attempt.id, finding);
      return { run, discrepancies: await discrepanciesOfDay(tx, attempt.date) };
    },
    { timeout },
  );
}

const findingKey = (finding: RecordedFinding): string[] => [finding.kind, finding.subject, finding.pspReference];

function compareKeys(a: readonly string[], b: readonly string[]): number {
  for (const [index, part] of a.entries()) {
    const other = b[index] ?? '';
    if (part !== other) return part < other ? -1 : 1;
  }
  return 0;
}

/**
 * Records a failed attempt. A run that has ever COMPLETED (completed_at, whatever status the
 * attempt found when it claimed the run: it may have taken over one that died while RUNNING)
 * keeps that result: status COMPLETED, its counts, report and finish time, with the failed
 * attempt in `error`. Otherwise FAILED. RunSupersededError (nothing written) if a newer attempt
 * took the run over.
 */
export async function failRun(db: SqlClient, attempt: ClaimedAttempt, error: string): Promise<RunRow> {
  const rows = await db.$queryRawUnsafe<RunRow[]>(
    `UPDATE reconciliation_runs
        SET status = CASE WHEN completed_at IS NULL THEN 'FAILED' ELSE 'COMPLETED' END,
            error = left(CASE WHEN completed_at IS NULL THEN $2::text ELSE 'attempt ' || attempts || ' failed: ' || $2::text END, 2000),
            finished_at = coalesce(completed_at, now())
      WHERE id = $1::uuid AND attempts = $3 RETURNING ${RUN_COLUMNS}`,
    attempt.id,
    error,
    attempt.attempts,
  );
  return rows[0] ?? superseded(db, attempt);
}

export async function findRun(db: SqlClient, id: string): Promise<RunRow | undefined> {
  const rows = await db.$queryRawUnsafe<RunRow[]>(`SELECT ${RUN_COLUMNS} FROM reconciliation_runs WHERE id = $1::uuid`, id);
  return rows[0];
}

/**
 * Stores the attempt's lines inside its recording transaction, upserting by balance transaction
 * id (every column takes this attempt's reading), then withdraws the run's lines this attempt no
 * longer reported. Lines are written in id order, so two runs sharing lines never deadlock.
 */
async function storeLines(tx: SqlClient, attempt: ClaimedAttempt, lines: readonly PspLine[]): Promise<void> {
  const ordered = [...lines].sort((a, b) => (a.balanceTransactionId < b.balanceTransactionId ? -1 : a.balanceTransactionId > b.balanceTransactionId ? 1 : 0));
  for (const batch of chunks(ordered)) {
    await tx.$executeRawUnsafe(
      `INSERT INTO psp_settlement_lines (balance_transaction_id, date, source, run_id, attempt, created_at, available_on, currency, gross_minor, fee_minor, net_minor,
                                         type, reporting_category, source_id, payment_intent_id, description)
       SELECT l.id, $2, $3, $1::uuid, $16, l.created_at, l.available_on, l.currency, l.gross, l.fee, l.net, l.type, l.category, l.source_id, l.pi, l.description
         FROM unnest($4::text[], $5::timestamptz[], $6::timestamptz[], $7::text[], $8::int8[], $9::int8[], $10::int8[], $11::text[], $12::text[], $13::text[], $14::text[], $15::text[])
           AS l(id, created_at, available_on, currency, gross, fee, net, type, category, source_id, pi, description)
       ON CONFLICT (balance_transaction_id) DO UPDATE SET
         date = EXCLUDED.date, source = EXCLUDED.source, run_id = EXCLUDED.run_id, attempt = EXCLUDED.attempt, withdrawn_at = NULL, ingested_at = now(),
         created_at = EXCLUDED.created_at, available_on = EXCLUDED.available_on, currency = EXCLUDED.currency,
         gross_minor = EXCLUDED.gross_minor, fee_minor = EXCLUDED.fee_minor, net_minor = EXCLUDED.net_minor, type = EXCLUDED.type,
         reporting_category = EXCLUDED.reporting_category, source_id = EXCLUDED.source_id, payment_intent_id = EXCLUDED.payment_intent_id, description = EXCLUDED.description`,
      attempt.id,
      attempt.date,
      attempt.source,
      batch.map((line) => line.balanceTransactionId),
      batch.map((line) => line.createdAt.toISOString()),
      batch.map((line) => line.availableOn?.toISOString() ?? null),
      batch.map((line) => line.currency),
      batch.map((line) => line.grossMinor.toString()),
      batch.map((line) => line.feeMinor.toString()),
      batch.map((line) => line.netMinor.toString()),
      batch.map((line) => line.type),
      batch.map((line) => line.reportingCategory),
      batch.map((line) => line.sourceId),
      batch.map((line) => line.paymentIntentId),
      batch.map((line) => line.description),
      attempt.attempts,
    );
  }
  // Stored by an earlier attempt of this run and not by this one: the PSP no longer reports it for the day.
  await tx.$executeRawUnsafe(
    `UPDATE psp_settlement_lines SET withdrawn_at = now() WHERE date = $1 AND run_id = $2::uuid AND attempt < $3 AND withdrawn_at IS NULL`,
    attempt.date,
    attempt.id,
    attempt.attempts,
  );
}

/** The day's PSP lines: those the recorded attempt of each of the day's runs reported. */
export async function countLines(db: SqlClient, day: UtcDay): Promise<number> {
  const rows = await db.$queryRawUnsafe<{ n: bigint }[]>(`SELECT count(*) AS n FROM psp_settlement_lines WHERE date = $1 AND withdrawn_at IS NULL`, day);
  return Number(rows[0]?.n ?? 0n);
}

interface LedgerRow {
  id: string;
  reference: string;
  kind: string;
  effective_at: Date;
  correlation_id: string | null;
  metadata: Record<string, unknown> | null;
  currency: string;
  psp_receivable_debit: string;
  psp_receivable_credit: string;
  disputes_clearing_credit: string;
  psp_fee_expense_debit: string;
}

const LEDGER_VIEW_SQL = `
  SELECT t.id::text AS id, t.reference, t.kind, t.effective_at, t.correlation_id, t.metadata,
         coalesce(min(e.currency) FILTER (WHERE a.code IN ('psp_receivable', 'disputes_clearing', 'psp_fee_expense')), min(e.currency)) AS currency,
         coalesce(sum(e.amount_minor) FILTER (WHERE a.code = 'psp_receivable' AND e.direction = 'DEBIT'), 0)::text AS psp_receivable_debit,
         coalesce(sum(e.amount_minor) FILTER (WHERE a.code = 'psp_receivable' AND e.direction = 'CREDIT'), 0)::text AS psp_receivable_credit,
         coalesce(sum(e.amount_minor) FILTER (WHERE a.code = 'disputes_clearing' AND e.direction = 'CREDIT'), 0)::text AS disputes_clearing_credit,
         coalesce(sum(e.amount_minor) FILTER (WHERE a.code = 'psp_fee_expense' AND e.direction = 'DEBIT'), 0)::text AS psp_fee_expense_debit
    FROM journal_transactions t
    JOIN ledger_entries e ON e.transaction_id = t.id
    JOIN ledger_accounts a ON a.id = e.account_id
   WHERE t.id = ANY($1::uuid[])
   GROUP BY t.id`;

/** Not reversed itself: a reversed posting and its reversal cancel out. */
const NOT_REVERSED = `NOT EXISTS (SELECT 1 FROM journal_transactions r WHERE r.reverses_transaction_id = t.id)`;
/** Neither a reversal nor reversed. */
const LIVE = `t.reverses_transaction_id IS NULL AND ${NOT_REVERSED}`;
/**
 * A refund_succeeded counts unless a correction reversed it: its refund_reversed (the refund
 * failed at the PSP later) leaves it standing, as the PSP's refund line does, and stands for the
 * PSP's refund_failure line itself.
 */
const REFUND_LIVE = `t.reverses_transaction_id IS NULL
  AND NOT EXISTS (SELECT 1 FROM journal_transactions r WHERE r.reverses_transaction_id = t.id AND r.kind <> 'refund_reversed')`;

function toView(row: LedgerRow): LedgerTxView {
  return {
    id: row.id,
    reference: row.reference,
    kind: row.kind,
    effectiveAt: new Date(row.effective_at),
    correlationId: row.correlation_id,
    metadata: row.metadata ?? {},
    currency: row.currency,
    pspReceivableDebitMinor: BigInt(row.psp_receivable_debit),
    pspReceivableCreditMinor: BigInt(row.psp_receivable_credit),
    disputesClearingCreditMinor: BigInt(row.disputes_clearing_credit),
    pspFeeExpenseDebitMinor: BigInt(row.psp_fee_expense_debit),
  };
}

async function viewsOf(db: SqlClient, ids: readonly string[]): Promise<LedgerTxView[]> {
  const views: LedgerTxView[] = [];
  for (const batch of chunks([...new Set(ids)])) views.push(...(await db.$queryRawUnsafe<LedgerRow[]>(LEDGER_VIEW_SQL, batch)).map(toView));
  return views;
}

/**
 * The live ledger transactions matching needs: every payment/refund posting and every PSP fee
 * booking effective in [dayStart, dayEnd) (a refund's reversal included), and every posting
 * naming one of the PSP ids on the day's lines.
 */
export async function loadLedgerForDay(db: SqlClient, lines: readonly PspLine[], dayStart: Date, dayEnd: Date): Promise<LedgerTxView[]> {
  const ids = new Set<string>();
  const dayRows = await db.$queryRawUnsafe<{ id: string }[]>(
    `SELECT t.id::text AS id FROM journal_transactions t
      WHERE t.effective_at >= $1::timestamptz AND t.effective_at < $2::timestamptz
        AND ((t.kind IN ('payment_succeeded', 'psp_fee_booked') AND ${LIVE}) OR (t.kind = 'refund_succeeded' AND ${REFUND_LIVE}) OR (t.kind = 'refund_reversed' AND ${NOT_REVERSED}))`,
    dayStart.toISOString(),
    dayEnd.toISOString(),
  );
  dayRows.forEach((row) => ids.add(row.id));
  const pspIds = [...new Set(lines.flatMap((line) => [line.sourceId, line.paymentIntentId]).filter((id): id is string => id !== null))];
  const feeReferences = lines.map((line) => `psp_fee_booked:${line.balanceTransactionId}`);
  for (const batch of chunks(pspIds)) {
    const rows = await db.$queryRawUnsafe<{ id: string }[]>(
      // payout_failed is by construction the reversal of its payout_requested, and it is what the
      // PSP's payout_reversal line matches: it counts unless it was itself reversed.
      `SELECT t.id::text AS id FROM journal_transactions t
        WHERE (${NOT_REVERSED} AND (
              (t.kind IN ('payout_paid', 'payout_failed') AND t.metadata->>'pspPayoutId' = ANY($1::text[]))
           OR (t.reverses_transaction_id IS NULL AND (
                 (t.kind = 'payment_succeeded' AND (t.metadata->>'pspPaymentIntentId' = ANY($1::text[]) OR t.metadata->>'pspChargeId' = ANY($1::text[])))
              OR (t.kind = 'dispute_opened' AND t.metadata->>'pspDisputeId' = ANY($1::text[]))
              OR (t.kind = 'psp_fee_booked' AND (t.correlation_id = ANY($1::text[]) OR t.metadata->>'sourceId' = ANY($1::text[])))))))
           OR (t.kind = 'refund_succeeded' AND t.metadata->>'pspRefundId' = ANY($1::text[]) AND ${REFUND_LIVE})`,
      batch,
    );
    rows.forEach((row) => ids.add(row.id));
    // The refund_reversed of those refunds, through its refund_succeeded (partial index) and the
    // unique reverses_transaction_id: its own metadata is not indexed.
    const reversals = await db.$queryRawUnsafe<{ id: string }[]>(
      `SELECT t.id::text AS id FROM journal_transactions s JOIN journal_transactions t ON t.reverses_transaction_id = s.id
        WHERE s.kind = 'refund_succeeded' AND s.metadata->>'pspRefundId' = ANY($1::text[]) AND t.kind = 'refund_reversed' AND ${NOT_REVERSED}`,
      batch,
    );
    reversals.forEach((row) => ids.add(row.id));
  }
  for (const batch of chunks(feeReferences)) {
    const rows = await db.$queryRawUnsafe<{ id: string }[]>(`SELECT t.id::text AS id FROM journal_transactions t WHERE t.reference = ANY($1::text[]) AND ${LIVE}`, batch);
    rows.forEach((row) => ids.add(row.id));
  }
  const views = await viewsOf(db, [...ids]);
  // dispute_won names our dispute id; find it through the dispute_opened postings just loaded.
  const disputeIds = views.filter((view) => view.kind === 'dispute_opened').map((view) => view.metadata.disputeId).filter((id): id is string => typeof id === 'string');
  const wonIds: string[] = [];
  for (const batch of chunks(disputeIds)) {
    const rows = await db.$queryRawUnsafe<{ id: string }[]>(`SELECT t.id::text AS id FROM journal_transactions t WHERE t.kind = 'dispute_won' AND t.metadata->>'disputeId' = ANY($1::text[]) AND ${LIVE}`, batch);
    wonIds.push(...rows.map((row) => row.id));
  }
  return [...views, ...(await viewsOf(db, wonIds))];
}

export interface TransactionDraftRow {
  id: string;
  reference: string;
  kind: string;
  effectiveAt: Date;
  correlationId: string | null;
  metadata: Record<string, unknown>;
  reversed: boolean;
  entries: { accountCode: string; currency: string; direction: 'DEBIT' | 'CREDIT'; amountMinor: bigint }[];
}

/** A posted transaction with its legs (shards merged), for a correcting reversal. */
export async function loadTransactionByReference(db: SqlClient, reference: string): Promise<TransactionDraftRow | undefined> {
  const rows = await db.$queryRawUnsafe<
    { id: string; reference: string; kind: string; effective_at: Date; correlation_id: string | null; metadata: Record<string, unknown> | null; reversed: boolean; code: string; currency: string; direction: 'DEBIT' | 'CREDIT'; amount: string }[]
  >(
    `SELECT t.id::text AS id, t.reference, t.kind, t.effective_at, t.correlation_id, t.metadata,
            EXISTS (SELECT 1 FROM journal_transactions r WHERE r.reverses_transaction_id = t.id) AS reversed,
            a.code, e.currency, e.direction, sum(e.amount_minor)::text AS amount
       FROM journal_transactions t JOIN ledger_entries e ON e.transaction_id = t.id JOIN ledger_accounts a ON a.id = e.account_id
      WHERE t.reference = $1
      GROUP BY t.id, a.code, e.currency, e.direction
      ORDER BY a.code, e.currency, e.direction`,
    reference,
  );
  const first = rows[0];
  if (!first) return undefined;
  return {
    id: first.id,
    reference: first.reference,
    kind: first.kind,
    effectiveAt: new Date(first.effective_at),
    correlationId: first.correlation_id,
    metadata: first.metadata ?? {},
    reversed: first.reversed,
    entries: rows.map((row) => ({ accountCode: row.code, currency: row.currency, direction: row.direction, amountMinor: BigInt(row.amount) })),
  };
}

const DISCREPANCY_COLUMNS = `id::text AS id, date, kind, subject, category, status, psp_reference AS "pspReference", balance_transaction_id AS "balanceTransactionId",
  ledger_reference AS "ledgerReference", currency, expected_minor::text AS "expectedMinor", actual_minor::text AS "actualMinor", rule, note, detail,
  first_run_id::text AS "firstRunId", last_run_id::text AS "lastRunId", created_at AS "createdAt", updated_at AS "updatedAt",
  resolved_at AS "resolvedAt", resolved_by AS "resolvedBy", resolution_note AS "resolutionNote", correction_reference AS "correctionReference"`;

type RawDiscrepancyRow = Omit<DiscrepancyRow, 'expectedMinor' | 'actualMinor'> & { expectedMinor: string | null; actualMinor: string | null };

function fromRaw(row: RawDiscrepancyRow): DiscrepancyRow {
  return {
    ...row,
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
    resolvedAt: row.resolvedAt === null ? null : new Date(row.resolvedAt),
    expectedMinor: row.expectedMinor === null ? null : BigInt(row.expectedMinor),
    actualMinor: row.actualMinor === null ? null : BigInt(row.actualMinor),
  };
}

export interface RecordedFinding extends Finding {
  readonly status: DiscrepancyStatus;
  readonly detail: Record<string, unknown>;
}

/**
 * Records a finding once per (day, kind, subject, pspReference). Seen again: only last_run_id moves,
 * except that an OPEN discrepancy takes the newer classification (e.g. a replay that now worked).
 * Resolved ones stay as they are.
 */
export async function upsertDiscrepancy(db: SqlClient, day: UtcDay, runId: string, finding: RecordedFinding): Promise<DiscrepancyRow> {
  const rows = await db.$queryRawUnsafe<RawDiscrepancyRow[]>(
    `INSERT INTO discrepancies (id, date, kind, category, status, psp_reference, balance_transaction_id, ledger_reference, currency,
                                expected_minor, actual_minor, rule, note, detail, first_run_id, last_run_id, resolved_at, resolved_by, subject)
     VALUES ($1::uuid, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::int8, $11::int8, $12::text, $13::text, $14::jsonb, $15::uuid, $15::uuid,
             CASE WHEN $5::text = 'RESOLVED' THEN now() END, CASE WHEN $5::text = 'RESOLVED' THEN 'reconciliation' END, $16::text)
     ON CONFLICT (date, kind, subject, psp_reference) DO UPDATE SET
       last_run_id = EXCLUDED.last_run_id,
       updated_at = now(),
       category = CASE WHEN discrepancies.status = 'OPEN' THEN EXCLUDED.category ELSE discrepancies.category END,
       note = CASE WHEN discrepancies.status = 'OPEN' THEN EXCLUDED.note ELSE discrepancies.note END,
       rule = CASE WHEN discrepancies.status = 'OPEN' THEN EXCLUDED.rule ELSE discrepancies.rule END,
       detail = CASE WHEN discrepancies.status = 'OPEN' THEN EXCLUDED.detail ELSE discrepancies.detail END,
       resolved_at = CASE WHEN discrepancies.status = 'OPEN' AND EXCLUDED.status = 'RESOLVED' THEN now() ELSE discrepancies.resolved_at END,
       resolved_by = CASE WHEN discrepancies.status = 'OPEN' AND EXCLUDED.status = 'RESOLVED' THEN 'reconciliation' ELSE discrepancies.resolved_by END,
       status = CASE WHEN discrepancies.status = 'OPEN' THEN EXCLUDED.status ELSE discrepancies.status END
     RETURNING ${DISCREPANCY_COLUMNS}`,
    randomUUID(),
    day,
    finding.kind,
    finding.category,
    finding.status,
    finding.pspReference,
    finding.balanceTransactionId,
    finding.ledgerReference,
    finding.currency,
    finding.expectedMinor?.toString() ?? null,
    finding.actualMinor?.toString() ?? null,
    finding.rule,
    finding.note,
    JSON.stringify(finding.detail),
    runId,
    finding.subject,
  );
  invariant(rows[0] !== undefined, 'discrepancy upsert returned nothing');
  return fromRaw(rows[0]);
}

export async function discrepanciesOfDay(db: SqlClient, day: UtcDay): Promise<DiscrepancyRow[]> {
  return (await db.$queryRawUnsafe<RawDiscrepancyRow[]>(`SELECT ${DISCREPANCY_COLUMNS} FROM discrepancies WHERE date = $1 ORDER BY created_at, id`, day)).map(fromRaw);
}

export async function findDiscrepancy(db: SqlClient, id: string): Promise<DiscrepancyRow | undefined> {
  const rows = await db.$queryRawUnsafe<RawDiscrepancyRow[]>(`SELECT ${DISCREPANCY_COLUMNS} FROM discrepancies WHERE id = $1::uuid`, id);
  return rows[0] === undefined ? undefined : fromRaw(rows[0]);
}

export interface DiscrepancyFilter {
  status?: DiscrepancyStatus;
  category?: DiscrepancyCategory;
  kind?: DiscrepancyKind;
  date?: string;
}

/** Newest first; first + 1 rows so the caller knows whether there is more. Cursor: (createdAt, id). */
export async function listDiscrepancies(db: SqlClient, filter: DiscrepancyFilter, first: number, after: { createdAt: Date; id: string } | undefined): Promise<DiscrepancyRow[]> {
  const conditions: string[] = [];
  const params: unknown[] = [];
  const param = (value: unknown): string => {
    params.push(value);
    return `$${params.length}`;
  };
  if (filter.status) conditions.push(`status = ${param(filter.status)}`);
  if (filter.category) conditions.push(`category = ${param(filter.category)}`);
  if (filter.kind) conditions.push(`kind = ${param(filter.kind)}`);
  if (filter.date) conditions.push(`date = ${param(filter.date)}`);
  if (after) conditions.push(`(created_at, id) < (${param(after.createdAt.toISOString())}::timestamptz, ${param(after.id)}::uuid)`);
  const where = conditions.length === 0 ? '' : `WHERE ${conditions.join(' AND ')}`;
  return (await db.$queryRawUnsafe<RawDiscrepancyRow[]>(`SELECT ${DISCREPANCY_COLUMNS} FROM discrepancies ${where} ORDER BY created_at DESC, id DESC LIMIT ${param(first + 1)}`, ...params)).map(fromRaw);
}

/** OPEN → RESOLVED with the note (and the correcting posting's reference). False if it was not OPEN. */
export async function markResolved(db: SqlClient, id: string, resolvedBy: string, note: string, correctionReference: string | null): Promise<boolean> {
  const count = await db.$executeRawUnsafe(
    `UPDATE discrepancies SET status = 'RESOLVED', resolved_at = now(), resolved_by = $2, resolution_note = $3, correction_reference = $4, updated_at = now()
      WHERE id = $1::uuid AND status = 'OPEN'`,
    id,
    resolvedBy,
    note,
    correctionReference,
  );
  return count === 1;
}
