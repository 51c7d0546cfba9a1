// The reconciliation tests' world: a fresh ledger database and a real PSP simulator (in-process,
// its own database, no webhooks delivered), with the reconciliation's Stripe client and deps; and
// the helpers that stage a slow attempt being taken over (a held loader, an aged run, a file).
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger, createPgAdapter, type SqlClient, type TransactionalDb } from '@clearhouse/shared';
import { createTestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../../generated/prisma/client.js';
import type { PaymentReplayer } from '../clients/payments-replay.js';
import { pspDayLoader, type PspDayLoader } from '../ingestion/sources.js';
import { createReconciliationStripe } from '../ingestion/stripe-balance-transactions.js';
import type { ReconciliationDeps } from './run-reconciliation.js';

interface SimulatorModule {
  startSimulator(options: Record<string, unknown>): Promise<{ url: string; port: number; stop(): Promise<void> }>;
}
// The simulator's own sources: it is not a dependency of this package.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulatorModule = require('../../../../../psp-simulator/src/server.ts') as SimulatorModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulatorDb = require('../../../../../psp-simulator/src/store/db.ts') as { dropDatabase(url: string): Promise<void> };

const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';

export const OPS = { role: 'ops' as const, keyId: 'ops_key_test', sellerId: null };

export type ReconciliationStripe = ReturnType<typeof createReconciliationStripe>;

export interface ReconciliationWorld {
  readonly simulatorUrl: string;
  readonly prisma: PrismaClient;
  readonly db: TransactionalDb;
  readonly stripe: ReconciliationStripe;
  readonly deps: ReconciliationDeps;
  stop(): Promise<void>;
}

/** The simulator's fault injection (POST /__admin/faults merges; null clears them all). */
export async function setSimulatorFaults(simulatorUrl: string, faults: Record<string, unknown> | null): Promise<void> {
  const response = await fetch(`${simulatorUrl}/__admin/faults`, {
    method: faults === null ? 'DELETE' : 'POST',
    headers: { 'content-type': 'application/json' },
    ...(faults === null ? {} : { body: JSON.stringify(faults) }),
  });
  if (!response.ok) throw new Error(`simulator faults: ${response.status}`);
}

export interface WorldOptions {
  /** Overrides of the simulator's runtime config (e.g. payoutDelayMs). */
  readonly simulatorConfig?: Record<string, unknown>;
  /** Stand-in for payments' replay route, given the world's Stripe client and database. */
  readonly replayer?: (parts: { stripe: ReconciliationStripe; db: SqlClient }) => PaymentReplayer;
}

export async function startReconciliationWorld(options: WorldOptions = {}): Promise<ReconciliationWorld> {
  const database = await createTestDatabase('ledger');
  const prisma = new PrismaClient({ adapter: createPgAdapter(database.url, { poolMax: 5 }) });
  const simulatorDatabaseUrl = `${POSTGRES_URL}/clearhouse_test_psp_${randomBytes(6).toString('hex')}`;
  const simulator = await simulatorModule.startSimulator({
    port: 0,
    host: '127.0.0.1',
    databaseUrl: simulatorDatabaseUrl,
    webhookUrl: 'http://127.0.0.1:9/unused',
    webhookSecret: 'whsec_test',
    logLevel: 'silent',
    config: { webhookMaxAttempts: 1, ...options.simulatorConfig },
  });
  const stripe = createReconciliationStripe({ apiKey: 'sk_test_reconciliation', apiBase: simulator.url, timeoutMs: 10_000 });
  const db = prisma as unknown as TransactionalDb;
  const logger = createLogger({ service: 'ledger-reconciliation-test', level: 'silent' });
  const replayer = options.replayer ? options.replayer({ stripe, db }) : null;
  return {
    simulatorUrl: simulator.url,
    prisma,
    db,
    stripe,
    deps: { db, logger, replayer, feeSchedule: { percentBps: 290n, fixedMinor: 30n }, boundaryGraceMs: 0, hotAccountShards: 4, runStaleAfterMs: 60_000 },
    async stop() {
      await simulator.stop();
      await simulatorDb.dropDatabase(simulatorDatabaseUrl).catch(() => undefined);
      await prisma.$disconnect();
      await database.drop();
    },
  };
}

/** One row of a settlement file, amounts in minor units (the file has them in major units). */
export interface SettlementRow {
  readonly id: string;
  readonly category: string;
  readonly grossMinor: bigint;
  readonly feeMinor?: bigint;
  readonly sourceId?: string;
  readonly paymentIntentId?: string;
  readonly description?: string;
}

function majorUnits(minor: bigint): string {
  const abs = minor < 0n ? -minor : minor;
  return `${minor < 0n ? '-' : ''}${abs / 100n}.${(abs % 100n).toString().padStart(2, '0')}`;
}

/** A settlement file of the day (USD, every line created at 10:00 UTC), read through the csv-file loader. */
export async function settlementFile(day: string, rows: readonly SettlementRow[]): Promise<PspDayLoader> {
  const at = `${day}T10:00:00Z`;
  const path = join(tmpdir(), `settlement-${randomBytes(4).toString('hex')}.csv`);
  const header = 'balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,payment_intent_id,description';
  const lines = rows.map((row) => {
    const feeMinor = row.feeMinor ?? 0n;
    const fields = [row.id, at, at, 'usd', majorUnits(row.grossMinor), majorUnits(feeMinor), majorUnits(row.grossMinor - feeMinor), row.category, row.sourceId ?? '', row.paymentIntentId ?? '', row.description ?? ''];
    return fields.join(',');
  });
  await writeFile(path, [header, ...lines, ''].join('\n'));
  return pspDayLoader({ kind: 'csv-file', path });
}

/** `inner`, held at its load (the run already claimed) until released; then it loads or fails. */
export function heldUntilReleased(inner: PspDayLoader) {
  let loading!: () => void;
  const started = new Promise<void>((resolve) => (loading = resolve));
  let release!: (ending: 'load' | 'fail') => void;
  const released = new Promise<'load' | 'fail'>((resolve) => (release = resolve));
  const loader: PspDayLoader = {
    source: inner.source,
    description: `${inner.description} (slow)`,
    async load(day, onProgress) {
      loading();
      if ((await released) === 'fail') throw new Error('the settlement file stopped answering');
      return inner.load(day, onProgress);
    },
  };
  return { loader, started, release };
}

/** Moves the run's start back past runStaleAfterMs: a later claim may take it over. */
export async function ageRunPastStale(world: ReconciliationWorld, runId: string): Promise<void> {
  await world.db.$executeRawUnsafe(
    `UPDATE reconciliation_runs SET started_at = started_at - make_interval(secs => $2::double precision / 1000) WHERE id = $1::uuid`,
    runId,
    world.deps.runStaleAfterMs + 1_000,
  );
}
