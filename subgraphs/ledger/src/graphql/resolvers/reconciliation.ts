// Reconciliation resolvers: runReconciliation and resolveDiscrepancy (ops), reconciliationRun
// and the discrepancy queue (ops and platform read; seller keys are FORBIDDEN). Thin: access,
// input checks, then the use cases in src/reconciliation/application.
import { DomainError, runIdempotent, toPayloadErrors, type JsonValue, type UserErrorPayload } from '@clearhouse/shared';
import { assertReconcilableDay, IngestionError, runReconciliation } from '../../reconciliation/application/run-reconciliation.js';
import { resolveDiscrepancy, type Correction } from '../../reconciliation/application/resolve-discrepancy.js';
import { reconciliationDeps, reconciliationLoader } from '../../reconciliation/application/service.js';
import { DISCREPANCY_CATEGORIES, DISCREPANCY_KINDS, DISCREPANCY_STATUSES, type DiscrepancyCategory, type DiscrepancyKind, type DiscrepancyStatus, type PspSource } from '../../reconciliation/domain/types.js';
import { isUtcDay } from '../../reconciliation/domain/day.js';
import {
  discrepanciesOfDay,
  findDiscrepancy,
  findRun,
  listDiscrepancies,
  RunInProgressError,
  type DiscrepancyRow,
  type RunRow,
} from '../../reconciliation/persistence/reconciliation-store.js';
import { requireFinance } from '../access.js';
import { badInput, requirePageSize } from './arguments.js';
import type { LedgerContext } from '../context.js';
import { moneyOf } from '../mappers.js';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** A day of 1M payments takes minutes; the key stays locked while the run holds it. */
const RUN_LOCK_TTL_MS = 15 * 60_000;

function discrepancyOf(row: DiscrepancyRow) {
  const money = (amountMinor: bigint | null) => (amountMinor === null || row.currency === null ? null : moneyOf(amountMinor, row.currency));
  return {
    id: row.id,
    kind: row.kind,
    category: row.category,
    status: row.status,
    pspReference: row.pspReference,
    expected: money(row.expectedMinor),
    actual: money(row.actualMinor),
    note: row.resolutionNote === null ? row.note : `${row.note ?? ''}\nresolved: ${row.resolutionNote}`,
    date: row.date,
    rule: row.rule,
    balanceTransactionId: row.balanceTransactionId,
    ledgerReference: row.ledgerReference,
    createdAt: row.createdAt,
    resolvedAt: row.resolvedAt,
    resolvedBy: row.resolvedBy,
    resolutionNote: row.resolutionNote,
    correctionReference: row.correctionReference,
  };
}

interface FixJson {
  type?: unknown;
  pspReference?: unknown;
  ledgerReference?: unknown;
  currency?: unknown;
  amountMinor?: unknown;
  detail?: unknown;
}

function runOf(row: RunRow) {
  const fixes = Array.isArray(row.report.fixes) ? (row.report.fixes as FixJson[]) : [];
  return {
    id: row.id,
    date: row.date,
    status: row.status,
    matchedCount: row.matchedCount,
    source: row.source.toUpperCase(),
    lineCount: row.lineCount,
    attempts: row.attempts,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    error: row.error,
    fixes: fixes.map((fix) => ({
      type: String(fix.type),
      pspReference: String(fix.pspReference),
      ledgerReference: typeof fix.ledgerReference === 'string' ? fix.ledgerReference : null,
      amount: typeof fix.currency === 'string' && typeof fix.amountMinor === 'string' && fix.currency.length === 3 ? moneyOf(BigInt(fix.amountMinor), fix.currency) : null,
      detail: String(fix.detail ?? ''),
    })),
  };
}

function encodeCursor(row: DiscrepancyRow): string {
  return Buffer.from(`${row.createdAt.toISOString()}|${row.id}`, 'utf8').toString('base64url');
}

// Query arguments: a bad one is a BAD_USER_INPUT GraphQL error (a DomainError thrown by a query
// resolver would be masked as an internal error; mutations report DomainErrors as userErrors).
function decodeCursor(cursor: string): { createdAt: Date; id: string } {
  const [at, id] = Buffer.from(cursor, 'base64url').toString('utf8').split('|');
  const createdAt = new Date(at ?? '');
  if (id === undefined || !UUID_PATTERN.test(id) || Number.isNaN(createdAt.getTime())) throw badInput('invalid cursor', 'after');
  return { createdAt, id };
}

function oneOf<T extends string>(values: readonly T[], value: string | null | undefined, field: string): T | undefined {
  if (value === null || value === undefined) return undefined;
  if (!values.includes(value as T)) throw badInput(`unknown ${field}`, field);
  return value as T;
}

interface RunInput {
  idempotencyKey: string;
  date: string;
  source?: 'API' | 'CSV' | null;
}

async function runReconciliationResolver(_: unknown, args: { input: RunInput }, context: LedgerContext) {
  let userErrors: UserErrorPayload[] = [];
  try {
    if (context.caller.role !== 'ops' && context.caller.role !== 'system') throw new DomainError('FORBIDDEN', 'reconciliation is for ops keys');
    assertReconcilableDay(args.input.date);
    const source: PspSource = args.input.source === 'CSV' ? 'csv' : 'api';
    const { response, replayed } = await runIdempotent({
      db: context.prisma,
      callerId: context.caller.keyId,
      key: args.input.idempotencyKey,
      operation: 'runReconciliation',
      request: { date: args.input.date, source },
      lockTtlMs: RUN_LOCK_TTL_MS,
      execute: async (): Promise<{ response: JsonValue; retryable?: boolean }> => {
        const deps = reconciliationDeps(context.env, context.prisma, context.logger);
        try {
          const result = await runReconciliation(deps, args.input.date, reconciliationLoader(context.env, source));
          return { response: { runId: result.run.id } };
        } catch (error) {
          if (error instanceof RunInProgressError) throw new DomainError('INVALID_STATE', error.message, { field: ['input', 'date'] });
          if (!(error instanceof IngestionError)) throw error;
          const rows = await context.prisma.$queryRawUnsafe<{ id: string }[]>(`SELECT id::text AS id FROM reconciliation_runs WHERE date = $1 AND source = $2`, args.input.date, source);
          // Released: the same key may run the day again once the PSP data is readable.
          return { response: { runId: rows[0]?.id ?? null, error: error.message }, retryable: true };
        }
      },
    });
    const stored = response as { runId: string | null; error?: string };
    if (stored.error !== undefined) userErrors = [{ code: 'PSP_UNAVAILABLE', field: ['input', 'date'], message: stored.error }];
    const run = stored.runId === null ? undefined : await findRun(context.prisma, stored.runId);
    return { run: run === undefined ? null : runOf(run), userErrors, replayed };
  } catch (error) {
    return { run: null, userErrors: toPayloadErrors(error, context.logger), replayed: false };
  }
}

interface ResolveArgs {
  input: { idempotencyKey: string; discrepancyId: string; note: string; correction?: Correction | null };
}

async function resolveDiscrepancyResolver(_: unknown, args: ResolveArgs, context: LedgerContext) {
  try {
    const result = await resolveDiscrepancy({ db: context.prisma, hotAccountShards: context.env.LEDGER_HOT_ACCOUNT_SHARDS }, context.caller, args.input);
    const row = await findDiscrepancy(context.prisma, result.discrepancyId);
    return { discrepancy: row === undefined ? null : discrepancyOf(row), userErrors: [], replayed: result.replayed };
  } catch (error) {
    return { discrepancy: null, userErrors: toPayloadErrors(error, context.logger), replayed: false };
  }
}

interface DiscrepanciesArgs {
  status?: string | null;
  category?: string | null;
  kind?: string | null;
  date?: string | null;
  first?: number | null;
  after?: string | null;
}

async function discrepanciesResolver(_: unknown, args: DiscrepanciesArgs, context: LedgerContext) {
  requireFinance(context.caller);
  const first = requirePageSize(args.first, 50);
  if (args.date != null && !isUtcDay(args.date)) throw badInput('date must be a UTC day YYYY-MM-DD', 'date');
  const filter = {
    ...(oneOf<DiscrepancyStatus>(DISCREPANCY_STATUSES, args.status, 'status') ? { status: args.status as DiscrepancyStatus } : {}),
    ...(oneOf<DiscrepancyCategory>(DISCREPANCY_CATEGORIES, args.category, 'category') ? { category: args.category as DiscrepancyCategory } : {}),
    ...(oneOf<DiscrepancyKind>(DISCREPANCY_KINDS, args.kind, 'kind') ? { kind: args.kind as DiscrepancyKind } : {}),
    ...(args.date == null ? {} : { date: args.date }),
  };
  const rows = await listDiscrepancies(context.prisma, filter, first, args.after == null ? undefined : decodeCursor(args.after));
  const page = rows.slice(0, first);
  const edges = page.map((row) => ({ cursor: encodeCursor(row), node: discrepancyOf(row) }));
  return { edges, pageInfo: { hasNextPage: rows.length > first, endCursor: edges[edges.length - 1]?.cursor ?? null } };
}

export const reconciliationResolvers = {
  Query: {
    reconciliationRun: async (_: unknown, args: { id: string }, context: LedgerContext) => {
      requireFinance(context.caller);
      if (!UUID_PATTERN.test(args.id)) return null;
      const run = await findRun(context.prisma, args.id);
      return run === undefined ? null : runOf(run);
    },
    discrepancies: discrepanciesResolver,
  },
  /** Root and object types only reconciliation defines (spread at the top level of the map). */
  types: {
    Mutation: {
      runReconciliation: runReconciliationResolver,
      resolveDiscrepancy: resolveDiscrepancyResolver,
    },
    ReconciliationRun: {
      discrepancies: async (run: { date: string }, _: unknown, context: LedgerContext) => (await discrepanciesOfDay(context.prisma, run.date)).map(discrepancyOf),
    },
  },
};
