// What the payouts use cases need, assembled once by the composition root (app.ts) or a test.
import type { MessagingLogger, TransactionalDb } from '@clearhouse/shared';
import type { WalletReservations } from '../clients/wallet.js';
import type { DestinationTable } from '../domain/destinations.js';
import type { FxRateTable } from '../domain/fx.js';
import type { PspCallPolicy } from '../psp/executor.js';
import type { PayoutsPsp } from '../psp/port.js';

export interface PayoutsConfig {
  /** PAYOUT_MINIMUM_MAJOR: whole major units of the payout's currency. */
  minimumMajor: bigint;
  fxRates: FxRateTable;
  destinations: DestinationTable;
  /** How long a requestPayout run may hold its idempotency key. */
  idempotencyLockTtlMs: number;
  /**
   * IDEMPOTENCY_KEY_RETENTION_MS: how long the keys (and the daily runs' records) are kept; a
   * scheduled run of a day older than this is refused (application/scheduled-payouts.ts).
   */
  idempotencyKeyRetentionMs: number;
}

export interface PayoutsDeps {
  db: TransactionalDb;
  wallet: WalletReservations;
  psp: PayoutsPsp;
  pspPolicy: PspCallPolicy;
  config: PayoutsConfig;
  logger: MessagingLogger;
  /** Called after a transaction that wrote outbox rows committed (wakes the relay). */
  onOutboxWritten?: () => void;
}

/** Runs `fn` in a transaction: the service's own, or the consumer's (inbox + effect together). */
export type InTransaction = <R>(fn: (tx: import('@clearhouse/shared').SqlClient) => Promise<R>) => Promise<R>;

export function ownTransaction(deps: PayoutsDeps): InTransaction {
  return async (fn) => {
    const result = await deps.db.$transaction(fn);
    deps.onOutboxWritten?.();
    return result;
  };
}
