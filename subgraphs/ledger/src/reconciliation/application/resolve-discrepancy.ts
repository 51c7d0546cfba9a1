// Working the queue: ops resolve a discrepancy with a note, and where money must move, with a
// correcting posting the note explains. Idempotent by (caller, idempotencyKey); a discrepancy is
// resolved at most once and never deleted.
//   BOOK_PSP_FEE               (FEE_MISMATCH of a charge) books the PSP's fee as reported on the
//                              ingested line: postPspFeeBooked, reference psp_fee_booked:<txn>.
//                              Refused for other lines (a dispute's fee is booked in dispute_opened).
//   REVERSE_LEDGER_TRANSACTION (DUPLICATE, AMOUNT_MISMATCH, FEE_MISMATCH of a booked fee)
//                              reverses the discrepancy's ledger transaction: reverseTransaction,
//                              reference reversal:<reference>, the note in its metadata.
import { DomainError, runIdempotent, type Caller, type JsonValue, type SqlClient } from '@clearhouse/shared';
import { postTransaction } from '../../application/post-transaction.js';
import { postPspFeeBooked, reverseTransaction, type AccountCode, type JournalTransactionDraft, type TransactionKind } from '../../domain/index.js';
import { findDiscrepancy, loadTransactionByReference, markResolved, type DiscrepancyRow } from '../persistence/reconciliation-store.js';

export const CORRECTIONS = ['BOOK_PSP_FEE', 'REVERSE_LEDGER_TRANSACTION'] as const;
export type Correction = (typeof CORRECTIONS)[number];

export interface ResolveInput {
  readonly idempotencyKey: string;
  readonly discrepancyId: string;
  readonly note: string;
  readonly correction?: Correction | null;
}

export interface ResolveDeps {
  readonly db: SqlClient;
  readonly hotAccountShards: number;
}

const NOTE_LENGTH_MAX = 2_000;
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const LOCK_TTL_MS = 60_000;

function invalid(message: string, field: string): never {
  throw new DomainError('INVALID_INPUT', message, { field: ['input', field] });
}

async function bookPspFee(deps: ResolveDeps, discrepancy: DiscrepancyRow, note: string): Promise<string> {
  if (discrepancy.kind !== 'FEE_MISMATCH' || discrepancy.balanceTransactionId === null) {
    throw new DomainError('INVALID_STATE', 'BOOK_PSP_FEE applies to a FEE_MISMATCH of a PSP line', { field: ['input', 'correction'] });
  }
  const lines = await deps.db.$queryRawUnsafe<{ currency: string; fee: string; source_id: string | null; created_at: Date; reporting_category: string }[]>(
    `SELECT currency, fee_minor::text AS fee, source_id, created_at, reporting_category FROM psp_settlement_lines WHERE balance_transaction_id = $1 AND withdrawn_at IS NULL`,
    discrepancy.balanceTransactionId,
  );
  const line = lines[0];
  // Never ingested, or withdrawn: a later completed run of the day no longer had it from the PSP.
  if (!line) throw new DomainError('INVALID_STATE', `the PSP line ${discrepancy.balanceTransactionId} is not among the PSP lines of ${discrepancy.date} (never ingested, or no longer reported)`);
  // Only a charge's fee is booked on its own (psp_fee_booked). A dispute's fee is part of its
  // dispute_opened posting: booking the line's whole fee again would count it twice.
  if (line.reporting_category !== 'charge') {
    throw new DomainError('INVALID_STATE', `BOOK_PSP_FEE applies to the fee of a charge; ${discrepancy.balanceTransactionId} is a ${line.reporting_category} line`, {
      field: ['input', 'correction'],
    });
  }
  const reference = `psp_fee_booked:${discrepancy.balanceTransactionId}`;
  const existing = await loadTransactionByReference(deps.db, reference);
  if (existing !== undefined && !existing.reversed) {
    throw new DomainError('INVALID_STATE', `${reference} is already booked; reverse it first (REVERSE_LEDGER_TRANSACTION)`, { field: ['input', 'correction'] });
  }
  const result = postPspFeeBooked({
    balanceTransactionId: discrepancy.balanceTransactionId,
    currency: line.currency,
    feeMinor: BigInt(line.fee),
    sourceId: line.source_id ?? discrepancy.pspReference,
    bookedAt: new Date(line.created_at),
  });
  if (result.kind !== 'post') throw new DomainError('INVALID_STATE', `the PSP fee cannot be booked: ${result.kind === 'rejected' ? result.error.message : result.reason}`);
  // A reversed earlier booking holds the reference: book under a reference naming the discrepancy.
  const draft = existing === undefined ? result.transaction : { ...result.transaction, reference: `${reference}:corrected:${discrepancy.id}`, metadata: { ...result.transaction.metadata, note: note.slice(0, 500) } };
  await postTransaction(deps.db, draft, { hotAccountShards: deps.hotAccountShards });
  return draft.reference;
}

async function reverseLedgerTransaction(deps: ResolveDeps, discrepancy: DiscrepancyRow, note: string): Promise<string> {
  if (discrepancy.ledgerReference === null) throw new DomainError('INVALID_STATE', 'this discrepancy names no ledger transaction to reverse', { field: ['input', 'correction'] });
  const original = await loadTransactionByReference(deps.db, discrepancy.ledgerReference);
  if (!original) throw new DomainError('INVALID_STATE', `no ledger transaction ${discrepancy.ledgerReference}`, { field: ['input', 'correction'] });
  if (original.reversed) throw new DomainError('INVALID_STATE', `${original.reference} is already reversed`, { field: ['input', 'correction'] });
  const draft: JournalTransactionDraft = {
    reference: original.reference,
    kind: original.kind as TransactionKind,
    effectiveAt: original.effectiveAt,
    metadata: {},
    ...(original.correlationId === null ? {} : { correlationId: original.correlationId }),
    entries: original.entries.map((entry) => ({ ...entry, accountCode: entry.accountCode as AccountCode })),
  };
  const result = reverseTransaction(draft, { effectiveAt: new Date(), reason: `reconciliation discrepancy ${discrepancy.id}: ${note.slice(0, 500)}` });
  if (result.kind !== 'post') throw new DomainError('INVALID_STATE', `cannot reverse ${original.reference}: ${result.kind === 'rejected' ? result.error.message : result.reason}`);
  await postTransaction(deps.db, result.transaction, { hotAccountShards: deps.hotAccountShards });
  return result.transaction.reference;
}

async function resolveOnce(deps: ResolveDeps, caller: Caller, input: ResolveInput, note: string): Promise<{ response: JsonValue }> {
  const discrepancy = await findDiscrepancy(deps.db, input.discrepancyId);
  if (!discrepancy) throw new DomainError('NOT_FOUND', `no discrepancy ${input.discrepancyId}`, { field: ['input', 'discrepancyId'] });
  if (discrepancy.status !== 'OPEN') throw new DomainError('INVALID_STATE', 'the discrepancy is already resolved', { field: ['input', 'discrepancyId'] });
  let correctionReference: string | null = null;
  if (input.correction === 'BOOK_PSP_FEE') correctionReference = await bookPspFee(deps, discrepancy, note);
  if (input.correction === 'REVERSE_LEDGER_TRANSACTION') correctionReference = await reverseLedgerTransaction(deps, discrepancy, note);
  const resolved = await markResolved(deps.db, discrepancy.id, caller.keyId, note, correctionReference);
  if (!resolved) throw new DomainError('INVALID_STATE', 'the discrepancy was resolved meanwhile', { field: ['input', 'discrepancyId'] });
  return { response: { discrepancyId: discrepancy.id, correctionReference } };
}

/** Returns the discrepancy id (and whether this was a replay); throws DomainError for userErrors. */
export async function resolveDiscrepancy(deps: ResolveDeps, caller: Caller, input: ResolveInput): Promise<{ discrepancyId: string; replayed: boolean }> {
  if (caller.role !== 'ops' && caller.role !== 'system') throw new DomainError('FORBIDDEN', 'resolving discrepancies is for ops keys');
  if (!UUID_PATTERN.test(input.discrepancyId)) invalid('discrepancyId is not a discrepancy id', 'discrepancyId');
  const note = input.note.trim();
  if (note.length === 0 || note.length > NOTE_LENGTH_MAX) invalid(`note must be 1..${NOTE_LENGTH_MAX} characters`, 'note');
  if (input.correction != null && !CORRECTIONS.includes(input.correction)) invalid('unknown correction', 'correction');
  const { response, replayed } = await runIdempotent({
    db: deps.db,
    callerId: caller.keyId,
    key: input.idempotencyKey,
    operation: 'resolveDiscrepancy',
    request: { discrepancyId: input.discrepancyId, note, correction: input.correction ?? null },
    lockTtlMs: LOCK_TTL_MS,
    execute: () => resolveOnce(deps, caller, input, note),
  });
  return { discrepancyId: String((response as { discrepancyId: string }).discrepancyId), replayed };
}
