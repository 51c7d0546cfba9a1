// npm run reconcile -- --date YYYY-MM-DD [--source csv|api] [--file path] [--no-replay]
// Reconciles one UTC day of PSP data against the ledger, on demand — the same use case as the
// nightly job and the runReconciliation mutation (subgraphs/ledger/src/reconciliation). Shows
// progress on stderr and prints a summary; exits 0 when no discrepancy of the day is OPEN, 1 when
// some are (see the list), 2 when it cannot run (bad arguments, unreadable or malformed data).
// env (as the ledger service): POSTGRES_URL, DATABASE_PREFIX (→ <prefix>_ledger), STRIPE_API_BASE,
//      STRIPE_API_KEY, PAYMENTS_URL + INTERNAL_SIGNING_SECRET (replays of missed payments),
//      RECONCILIATION_SETTLEMENT_URL, RECONCILIATION_PSP_FEE_PERCENT_BPS / _FIXED_MINOR, ...; INIT_CWD
//      (set by npm: the directory a relative --file is read from)
import { resolve } from 'node:path';
import { createLogger, formatAmount } from '@clearhouse/shared';
import { loadLedgerEnv } from '../../subgraphs/ledger/src/env';
import { createLedgerPrisma } from '../../subgraphs/ledger/src/persistence/prisma';
import { assertReconcilableDay, runReconciliation, type ProgressEvent } from '../../subgraphs/ledger/src/reconciliation/application/run-reconciliation';
import { reconciliationDeps, reconciliationLoader } from '../../subgraphs/ledger/src/reconciliation/application/service';
import { previousUtcDay } from '../../subgraphs/ledger/src/reconciliation/domain/day';
import type { PspSource } from '../../subgraphs/ledger/src/reconciliation/domain/types';
import type { PspDayLoader } from '../../subgraphs/ledger/src/reconciliation/ingestion/sources';

const USAGE = 'usage: npm run reconcile -- --date YYYY-MM-DD [--source csv|api] [--file path] [--no-replay]   (default date: yesterday UTC)';

interface Args {
  date: string;
  source: PspSource;
  file?: string;
  replay: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  let date = previousUtcDay(new Date());
  let source: PspSource | undefined;
  let file: string | undefined;
  let replay = true;
  for (let index = 0; index < argv.length; index++) {
    const arg = argv[index];
    const value = (): string => {
      const next = argv[index + 1];
      if (next === undefined || next.startsWith('--')) throw new Error(`${arg} needs a value`);
      index += 1;
      return next;
    };
    if (arg === '--date') date = value();
    else if (arg === '--source') {
      const text = value();
      if (text !== 'csv' && text !== 'api') throw new Error('--source is csv or api');
      source = text;
    } else if (arg === '--file') {
      // npm runs scripts from the project root: a relative path means where the operator was.
      file = resolve(process.env.INIT_CWD || process.cwd(), value());
    }
    else if (arg === '--no-replay') replay = false;
    else if (arg === '--help' || arg === '-h') {
      console.log(USAGE);
      process.exit(0);
    } else throw new Error(`unknown argument ${JSON.stringify(arg)}`);
  }
  if (file !== undefined && source === 'api') throw new Error('--file goes with --source csv');
  assertReconcilableDay(date);
  return { date, source: source ?? (file === undefined ? 'api' : 'csv'), ...(file === undefined ? {} : { file }), replay };
}

function money(amountMinor: bigint | null, currency: string | null): string {
  if (amountMinor === null || currency === null) return '-';
  const negative = amountMinor < 0n;
  return `${negative ? '-' : ''}${formatAmount(negative ? -amountMinor : amountMinor, currency)} ${currency}`;
}

function progressPrinter(): (event: ProgressEvent) => void {
  const tty = process.stderr.isTTY === true;
  const write = (text: string, final = false) => {
    if (tty) process.stderr.write(`\r\x1b[2K${text}${final ? '\n' : ''}`);
    else process.stderr.write(`${text}\n`);
  };
  return (event) => {
    switch (event.phase) {
      case 'ingesting':
        write(`ingesting PSP lines${event.fetched === undefined ? '…' : `: ${event.fetched}`}`);
        break;
      case 'ingested':
        write(`ingested ${event.lines} PSP lines`, true);
        break;
      case 'matched':
        write(`matched ${event.matched}; ${event.findings} to classify, ${event.feeBookings} PSP fees to book`, true);
        break;
      case 'fixing':
        write(`fixing ${event.done}/${event.total} [${'#'.repeat(Math.round((20 * event.done) / Math.max(event.total, 1))).padEnd(20, '.')}]`, event.done === event.total);
        break;
      case 'recorded':
        write(`recorded; ${event.discrepancies} discrepancies on the day`, true);
        break;
    }
  };
}

/**
 * A settlement file named on the command line is the operator's own input: it is read and parsed
 * completely before a run is claimed, so a mistyped path or a wrong file is refused (exit 2)
 * without touching the day's recorded run: a claimed run that fails counts as a failed attempt
 * (an earlier COMPLETED result and its report stay, with the attempt's error beside them), and an
 * operator's typo should not even be that. Data fetched from the PSP is still read inside the run,
 * whose failures are recorded as the nightly job records them. null: refused (already reported).
 */
async function operatorInputChecked(loader: PspDayLoader, args: Args): Promise<PspDayLoader | null> {
  if (args.file === undefined) return loader;
  try {
    const lines = await loader.load(args.date);
    return { source: loader.source, description: loader.description, load: async () => lines };
  } catch (error) {
    console.error(`reconcile: ${loader.description}: ${(error as Error).message}\nnothing was recorded`);
    return null;
  }
}

async function main(): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`reconcile: ${(error as Error).message}\n${USAGE}`);
    return 2;
  }
  const env = loadLedgerEnv();
  const logger = createLogger({ service: 'reconcile', level: process.env.LOG_LEVEL === undefined ? 'warn' : env.LOG_LEVEL });
  const prisma = createLedgerPrisma({ postgresUrl: env.POSTGRES_URL, databasePrefix: env.DATABASE_PREFIX, poolMax: 4 });
  try {
    const loader = await operatorInputChecked(reconciliationLoader(env, args.source, args.file), args);
    if (loader === null) return 2;
    console.log(`Clearhouse reconciliation of ${args.date} — ${loader.description}`);
    const deps = reconciliationDeps(env, prisma, logger, { replay: args.replay });
    const result = await runReconciliation(deps, args.date, loader, progressPrinter());
    const { run, discrepancies, fixes } = result;
    console.log(`\nRun ${run.id} (${run.source}, attempt ${run.attempts}): ${run.status}`);
    console.log(`  PSP lines ${run.lineCount}, matched ${run.matchedCount}`);
    console.log(`\nAutomatic fixes in this attempt: ${fixes.length}`);
    for (const fix of fixes) console.log(`  ${fix.type.padEnd(17)} ${fix.pspReference}  ${money(BigInt(fix.amountMinor), fix.currency || null)}  → ${fix.ledgerReference ?? '-'}  (${fix.detail})`);
    const open = discrepancies.filter((row) => row.status === 'OPEN');
    const counts = new Map<string, number>();
    for (const row of discrepancies) counts.set(`${row.kind} / ${row.category} / ${row.status}`, (counts.get(`${row.kind} / ${row.category} / ${row.status}`) ?? 0) + 1);
    console.log(`\nDiscrepancies of ${args.date}: ${discrepancies.length} (${open.length} open)`);
    for (const [key, count] of [...counts.entries()].sort()) console.log(`  ${String(count).padStart(5)}  ${key}`);
    if (open.length > 0) {
      console.log('\nOpen (resolve with the resolveDiscrepancy mutation, ops key):');
      for (const row of open.slice(0, 200)) {
        console.log(`  ${row.id}  ${row.kind.padEnd(17)} ${row.category.padEnd(13)} ${row.pspReference}  expected ${money(row.expectedMinor, row.currency)}  actual ${money(row.actualMinor, row.currency)}`);
        if (row.note) console.log(`      ${row.note.slice(0, 300)}`);
      }
      if (open.length > 200) console.log(`  … and ${open.length - 200} more`);
    }
    return open.length === 0 ? 0 : 1;
  } catch (error) {
    console.error(`\nreconcile: ${(error as Error).message}`);
    return 2;
  } finally {
    await prisma.$disconnect();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(2);
  },
);
