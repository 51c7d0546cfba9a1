// Stripe object shapes the simulator stores. Each is stored as it is served, plus a private
// `__sim` part (never served: stripped by publicView).

export type Metadata = Record<string, string>;

export interface StoredObject {
  id: string;
  object: string;
  created: number;
  livemode?: boolean;
  __sim?: Record<string, unknown>;
  [field: string]: unknown;
}

export type PaymentIntentStatus =
  | 'requires_payment_method'
  | 'requires_confirmation'
  | 'requires_action'
  | 'processing'
  | 'requires_capture'
  | 'succeeded'
  | 'canceled';

export interface PaymentError {
  type: 'card_error' | 'invalid_request_error';
  code: string;
  decline_code?: string;
  message: string;
  charge?: string;
  payment_method?: { id: string; object: 'payment_method'; type: 'card' };
}

export interface PaymentIntent extends StoredObject {
  object: 'payment_intent';
  amount: number;
  amount_capturable: number;
  amount_received: number;
  currency: string;
  status: PaymentIntentStatus;
  capture_method: 'automatic' | 'automatic_async' | 'manual';
  client_secret: string;
  description: string | null;
  metadata: Metadata;
  latest_charge: string | null;
  last_payment_error: PaymentError | null;
  next_action: Record<string, unknown> | null;
  payment_method: string | null;
  canceled_at: number | null;
  cancellation_reason: string | null;
  __sim: {
    checkoutSessionId?: string;
    returnUrl?: string;
    pendingCard?: CardDetails;
    feeOverrideMinor?: number;
  };
}

export interface CardDetails {
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
  funding: string;
  paymentMethodId: string;
}

export interface Charge extends StoredObject {
  object: 'charge';
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  currency: string;
  status: 'succeeded' | 'pending' | 'failed';
  paid: boolean;
  captured: boolean;
  refunded: boolean;
  disputed: boolean;
  payment_intent: string;
  balance_transaction: string | null;
  failure_code: string | null;
  failure_message: string | null;
  metadata: Metadata;
}

export interface BalanceTransaction extends StoredObject {
  object: 'balance_transaction';
  amount: number;
  currency: string;
  fee: number;
  fee_details: { amount: number; currency: string; type: string; description: string; application: null }[];
  net: number;
  type: string;
  reporting_category: string;
  source: string | null;
  available_on: number;
  description: string | null;
  status: 'available' | 'pending';
  __sim: { paymentIntentId?: string; payoutId?: string };
}

export interface Refund extends StoredObject {
  object: 'refund';
  amount: number;
  currency: string;
  charge: string;
  payment_intent: string;
  status: 'pending' | 'succeeded' | 'failed' | 'canceled';
  reason: string | null;
  metadata: Metadata;
  balance_transaction: string | null;
  /** Set when a refund failed: why (lost_or_stolen_card, expired_or_canceled_card, unknown). */
  failure_reason?: string;
  /** Set when a refund failed: the refund_failure balance transaction that gave the money back. */
  failure_balance_transaction?: string;
}

export interface Payout extends StoredObject {
  object: 'payout';
  amount: number;
  currency: string;
  status: 'pending' | 'in_transit' | 'paid' | 'failed' | 'canceled';
  destination: string | null;
  failure_code: string | null;
  failure_message: string | null;
  balance_transaction: string | null;
  failure_balance_transaction: string | null;
  metadata: Metadata;
  arrival_date: number;
}

export interface Dispute extends StoredObject {
  object: 'dispute';
  amount: number;
  currency: string;
  charge: string;
  payment_intent: string;
  status: 'needs_response' | 'under_review' | 'won' | 'lost';
  reason: string;
  /** Full balance transaction objects, as Stripe serves them. */
  balance_transactions: Record<string, unknown>[];
  metadata: Metadata;
}

export interface CheckoutSession extends StoredObject {
  object: 'checkout.session';
  status: 'open' | 'complete' | 'expired';
  payment_status: 'paid' | 'unpaid' | 'no_payment_required';
  payment_intent: string;
  amount_total: number;
  currency: string;
  url: string | null;
  success_url: string | null;
  cancel_url: string | null;
  metadata: Metadata;
  expires_at: number;
  __sim: { lineItems: { name: string; quantity: number; unitAmount: number }[] };
}

export interface StripeEvent extends StoredObject {
  object: 'event';
  type: string;
  data: { object: Record<string, unknown>; previous_attributes?: Record<string, unknown> };
  api_version: string;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
}

/** The object as the API serves it (without the private part). */
export function publicView(object: StoredObject): Record<string, unknown> {
  const { __sim: _private, ...rest } = object;
  return rest;
}
