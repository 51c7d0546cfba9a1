// What every payments use case receives from the composition root.
import type { DisputeFeeBearer, DisputeLossBearer, FeeSchedule, Logger, RefundFeePolicy, SqlClient } from '@clearhouse/shared';
import type { RiskRules } from '../domain/risk.js';
import type { PspCallPolicy } from '../psp/executor.js';
import type { PaymentsPsp } from '../psp/port.js';
import type { PaymentsStore } from './ports.js';

export interface PaymentsDeps {
  store: PaymentsStore;
  /** Raw SQL access for the shared idempotency table. */
  sql: SqlClient;
  psp: PaymentsPsp;
  logger: Logger;
  fees: FeeSchedule;
  risk: RiskRules;
  pspPolicy: PspCallPolicy;
  recheck: RecheckPolicy;
  aftersale: AftersalePolicy;
  /** Called after a commit that wrote outbox rows, so the relay publishes at once. */
  onOutboxWritten: () => void;
}

export interface AftersalePolicy {
  /** confirmDelivery → order.delivered@1 after this long (0: in the same transaction). */
  deliveryHoldMs: number;
  refundFeePolicy: RefundFeePolicy;
  disputeFeeBorneBy: DisputeFeeBearer;
  disputeLossBorneBy: DisputeLossBearer;
}

export interface RecheckPolicy {
  /** A pending payment is first asked about this long after its last change. */
  minAgeMs: number;
  /** Later re-checks wait half the payment's age, at least minAgeMs, at most this. */
  delayMsMax: number;
}

/** When to ask the PSP again about a payment still pending (created at `createdAt`). */
export function recheckDelayMs(policy: RecheckPolicy, createdAt: Date, nowMs: number = Date.now()): number {
  const halfAgeMs = Math.floor((nowMs - createdAt.getTime()) / 2);
  return Math.min(Math.max(halfAgeMs, policy.minAgeMs), policy.delayMsMax);
}

/** Longest a createCheckout/cancelPayment run may hold its idempotency key: every PSP attempt plus slack. */
export function idempotencyLockTtlMs(policy: PspCallPolicy): number {
  const attemptsMs = policy.attemptsMax * (policy.timeoutMs + 1_000 + policy.backoffMsMax);
  return Math.min(Math.max(attemptsMs + 10_000, 15_000), 15 * 60_000);
}
