// The PSP as the payments subgraph sees it: one method per flow, our types only. The Stripe
// adapter (stripe.ts) implements it; transformers.ts maps Stripe's wire format onto these.
import type { PaymentStatus } from '../domain/payment-status.js';

export interface PspCheckoutLine {
  name: string;
  amountMinor: bigint;
}

export interface CreateCheckoutSessionRequest {
  paymentId: string;
  currency: string;
  lines: readonly PspCheckoutLine[];
  returnUrl: string | null;
  /** Derived from our ids (`checkout:<paymentId>`), so a retry can never register twice. */
  idempotencyKey: string;
}

export interface PspCheckoutSession {
  sessionId: string;
  paymentIntentId: string;
  url: string;
}

/** The PSP's current view of a payment intent, mapped onto our lifecycle. */
export interface PspPaymentState {
  paymentIntentId: string;
  /** Our status this PSP state corresponds to. */
  status: PaymentStatus;
  /** The PSP's own status, for the timeline. */
  pspStatus: string;
  /** metadata.paymentId we set at registration; null for intents we did not create. */
  paymentId: string | null;
  amountMinor: bigint;
  currency: string;
  chargeId: string | null;
  failureCode: string | null;
  failureMessage: string | null;
}

export interface PspWebhookEvent {
  id: string;
  type: string;
  /** The payment intent the event is about, if any. */
  paymentIntentId: string | null;
  /** The event's object: its type (refund, charge, dispute, payout, ...) and id. */
  objectType: string | null;
  objectId: string | null;
  createdAtMs: number;
}

export type PspRefundStatus = 'pending' | 'succeeded' | 'failed' | 'canceled';

/** The PSP's current view of a refund. */
export interface PspRefundState {
  pspRefundId: string;
  paymentIntentId: string | null;
  amountMinor: bigint;
  currency: string;
  status: PspRefundStatus;
  /** metadata.refundId we set at creation; null for refunds we did not create. */
  refundId: string | null;
  failureReason: string | null;
}

export interface CreateRefundRequest {
  refundId: string;
  paymentOrderId: string;
  paymentIntentId: string;
  amountMinor: bigint;
  /** `refund:<refundId>` (or `refund:<refundId>:<round>` after a replayed server error). */
  idempotencyKey: string;
}

export type PspDisputeStatus = 'open' | 'won' | 'lost';

export interface PspDisputeState {
  pspDisputeId: string;
  paymentIntentId: string | null;
  amountMinor: bigint;
  currency: string;
  status: PspDisputeStatus;
  /** Stripe's own status (needs_response, under_review, won, lost, ...). */
  pspStatus: string;
  reason: string | null;
  /** What the PSP charged for the dispute (sum of its balance transactions' fees). */
  feeMinor: bigint;
}

export interface PspPayoutState {
  pspPayoutId: string;
  status: string;
  /** metadata.payoutId the payouts subgraph set. */
  payoutId: string | null;
  failureCode: string | null;
  failureMessage: string | null;
}

export type PspErrorKind = 'timeout' | 'connection' | 'server' | 'rate_limited' | 'in_use' | 'rejected';

export class PspError extends Error {
  override readonly name = 'PspError';
  constructor(
    readonly kind: PspErrorKind,
    message: string,
    readonly statusCode: number | null,
    readonly code: string | null,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** Worth another attempt: the PSP may not have seen it, or may answer differently later. */
  get retryable(): boolean {
    return this.kind !== 'rejected';
  }

  /**
   * The PSP answered with a server error. Stripe stores that answer under the idempotency key
   * and replays it, so a retry that should run again needs a new key.
   */
  get answeredWithServerError(): boolean {
    return this.kind === 'server';
  }
}

export class PspSignatureError extends Error {
  override readonly name = 'PspSignatureError';
}

export interface PaymentsPsp {
  createCheckoutSession(request: CreateCheckoutSessionRequest): Promise<PspCheckoutSession>;
  retrievePaymentIntent(paymentIntentId: string): Promise<PspPaymentState>;
  /** Expires the hosted session (which cancels its unpaid payment intent); no-op if not open. */
  expireCheckoutSession(sessionId: string, idempotencyKey: string): Promise<void>;
  createRefund(request: CreateRefundRequest): Promise<PspRefundState>;
  retrieveRefund(pspRefundId: string): Promise<PspRefundState>;
  /** The refunds of a payment intent (newest first, bounded). */
  listRefunds(paymentIntentId: string): Promise<PspRefundState[]>;
  retrieveDispute(pspDisputeId: string): Promise<PspDisputeState>;
  retrievePayout(pspPayoutId: string): Promise<PspPayoutState>;
  /** Verifies the signature (and its age) and parses the event; throws PspSignatureError. */
  parseWebhook(rawBody: Buffer, signatureHeader: string | undefined): PspWebhookEvent;
}
