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
  createdAtMs: number;
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
  /** Verifies the signature (and its age) and parses the event; throws PspSignatureError. */
  parseWebhook(rawBody: Buffer, signatureHeader: string | undefined): PspWebhookEvent;
}
