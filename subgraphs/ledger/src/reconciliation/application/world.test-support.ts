// The reconciliation tests' world: a fresh ledger database and a real PSP simulator (in-process,
// its own database, no webhooks delivered), with the reconciliation's Stripe client and deps.
import { randomBytes } from 'node:crypto';
import { createLogger, createPgAdapter, type SqlClient } from '@clearhouse/shared';
import { createTestDatabase } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../../generated/prisma/client.js';
import type { PaymentReplayer } from '../clients/payments-replay.js';
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
  readonly db: SqlClient;
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
  const db = prisma as unknown as SqlClient;
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
