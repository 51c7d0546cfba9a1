// The PSP as the payouts subgraph sees it: one method per flow, our types only. The Stripe
// adapter (stripe.ts) implements it; transformers.ts maps Stripe's wire format onto these.
import type { PspPayoutStatus } from '@clearhouse/shared';
import type { PspFailureKind } from '../domain/failures.js';

export interface CreatePspPayoutRequest {
  payoutId: string;
  sellerId: string;
  amountMinor: bigint;
  currency: string;
  destination: string;
  /** `payout:<payoutId>`: a retry after a timeout can never pay twice. */
  idempotencyKey: string;
}

export interface PspPayoutState {
  pspPayoutId: string;
  status: PspPayoutStatus;
  /** metadata.payoutId we set at creation; null for payouts we did not create. */
  payoutId: string | null;
  amountMinor: bigint;
  currency: string;
  failureCode: string | null;
  failureMessage: string | null;
}

export interface PayoutsPsp {
  createPayout(request: CreatePspPayoutRequest): Promise<PspPayoutState>;
  retrievePayout(pspPayoutId: string): Promise<PspPayoutState>;
  /**
   * The PSP payout created for our payout (metadata.payoutId), searched among the destination's
   * most recent payouts; null when there is none. Guards a new idempotency key (see execute-payout).
   */
  findPayout(payoutId: string, destination: string): Promise<PspPayoutState | null>;
}

export class PspError extends Error {
  override readonly name = 'PspError';
  constructor(
    readonly kind: PspFailureKind,
    message: string,
    readonly statusCode: number | null,
    readonly code: string | null,
    options?: { cause?: unknown; replayed?: boolean },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.replayed = options?.replayed ?? false;
  }

  /** The PSP replayed a response it stored under the idempotency key (Stripe stores 5xx too). */
  readonly replayed: boolean;

  get retryable(): boolean {
    return this.kind !== 'rejected';
  }
}
