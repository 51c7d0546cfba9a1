// createCheckout: validate → (idempotency) → risk → save CREATED payment + orders → register ONE
// checkout session with the PSP (outside any transaction, derived idempotency key) → save
// REQUIRES_PAYMENT with the hosted page URL. If the PSP stays unavailable the idempotency key is
// released: a retry with the same key finds the same payment (by caller + key) and finishes it.
import { randomUUID } from 'node:crypto';
import { DomainError, runIdempotent, type Caller, type JsonValue, type UserErrorPayload } from '@clearhouse/shared';
import { splitOrderFees, validateCheckoutInput, type CreateCheckoutInput, type ValidCheckout } from '../domain/checkout.js';
import { evaluateRisk } from '../domain/risk.js';
import { callPsp } from '../psp/executor.js';
import type { PspCheckoutSession, PspError } from '../psp/port.js';
import { idempotencyLockTtlMs, type PaymentsDeps } from './deps.js';
import type { PaymentOrderRecord, PaymentRecord, StoredPayment } from './ports.js';
import { transitionPayment } from './transition.js';

export const CREATE_CHECKOUT_OPERATION = 'createCheckout';

/** What is stored under the idempotency key and replayed. */
export interface MutationResponse extends Record<string, JsonValue> {
  paymentId: string | null;
  userErrors: JsonValue[];
}

export interface MutationResult {
  paymentId: string | null;
  userErrors: UserErrorPayload[];
  replayed: boolean;
}

export function toMutationResult(response: JsonValue, replayed: boolean): MutationResult {
  const stored = response as MutationResponse;
  return { paymentId: stored.paymentId ?? null, userErrors: (stored.userErrors ?? []) as unknown as UserErrorPayload[], replayed };
}

function errorResponse(paymentId: string | null, error: DomainError): MutationResponse {
  return { paymentId, userErrors: [error.toUserError() as unknown as JsonValue] };
}

/** The PSP key of a registration round: Stripe replays a stored 5xx, so a new round needs a new key. */
export function checkoutIdempotencyKey(paymentId: string, round: number): string {
  return round === 0 ? `checkout:${paymentId}` : `checkout:${paymentId}:${round}`;
}

function newPaymentId(): string {
  return `pay_${randomUUID()}`;
}

function newOrderId(): string {
  return `ord_${randomUUID()}`;
}

async function createPayment(deps: PaymentsDeps, caller: Caller, checkout: ValidCheckout): Promise<StoredPayment | DomainError> {
  const since = new Date(Date.now() - deps.risk.buyerVelocityWindowMs);
  const verdict = evaluateRisk(
    {
      buyerId: checkout.buyerId,
      sellerIds: checkout.orders.map((order) => order.sellerId),
      currency: checkout.currency,
      totalMinor: checkout.totalMinor,
      buyerRecentPaymentCount: await deps.store.countBuyerPaymentsSince(checkout.buyerId, since),
    },
    deps.risk,
  );
  if (!verdict.ok) {
    deps.logger.info({ buyerId: checkout.buyerId, rule: verdict.rule }, 'checkout rejected by risk rules');
    return new DomainError('RISK_REJECTED', verdict.message);
  }

  const paymentId = newPaymentId();
  const splits = splitOrderFees(checkout.orders.map((order) => order.amountMinor), deps.fees);
  const now = new Date();
  return deps.store.transaction(async (tx) => {
    const stored = await tx.insertPayment({
      payment: {
        id: paymentId,
        status: 'CREATED',
        buyerId: checkout.buyerId,
        currency: checkout.currency,
        amountMinor: checkout.totalMinor,
        checkoutUrl: null,
        pspPaymentIntentId: null,
        pspCheckoutSessionId: null,
        failureCode: null,
        failureMessage: null,
        returnUrl: checkout.returnUrl,
        metadata: checkout.metadata,
        idempotencyCallerId: caller.keyId,
        idempotencyKey: checkout.idempotencyKey,
      },
      orders: checkout.orders.map((order, position) => {
        const split = splits[position];
        if (!split) throw new Error('fee split missing an order');
        return {
          id: newOrderId(),
          paymentId,
          position,
          sellerId: order.sellerId,
          reference: order.reference,
          amountMinor: split.amountMinor,
          feeMinor: split.feeMinor,
          netAmountMinor: split.netAmountMinor,
          status: 'PENDING' as const,
        };
      }),
    });
    await tx.addTimeline({
      paymentId,
      at: now,
      source: 'payments',
      type: 'payment.created',
      message: `checkout of ${checkout.totalMinor} ${checkout.currency} minor units for ${checkout.orders.length} order(s)`,
      data: { buyerId: checkout.buyerId, amountMinor: checkout.totalMinor.toString(), currency: checkout.currency, orders: checkout.orders.length },
    });
    return stored;
  });
}

/**
 * Registers the payment's checkout session with the PSP and moves it to REQUIRES_PAYMENT.
 * `knownOrders`: the orders when the caller has them already (a payment created in this request).
 */
export async function registerWithPsp(deps: PaymentsDeps, payment: PaymentRecord, knownOrders?: readonly PaymentOrderRecord[]): Promise<'registered' | DomainError> {
  const orders = knownOrders ?? (await deps.store.ordersOfPayments([payment.id]));
  let round = payment.pspRegistrationRound;
  const recordFailure = async (error: PspError, attempt: number) => {
    await deps.store.addTimeline({
      paymentId: payment.id,
      at: new Date(),
      source: 'payments',
      type: 'psp.call_failed',
      message: `create checkout session, attempt ${attempt}: ${error.kind}${error.statusCode ? ` (${error.statusCode})` : ''}`,
      data: { operation: 'checkout.sessions.create', attempt, kind: error.kind, idempotencyKey: checkoutIdempotencyKey(payment.id, round), message: error.message.slice(0, 500) },
    });
    if (error.answeredWithServerError) round = await deps.store.bumpRegistrationRound(payment.id);
  };

  let session: PspCheckoutSession;
  try {
    session = await callPsp({ operation: 'checkout.sessions.create', policy: deps.pspPolicy, logger: deps.logger, onAttemptFailed: recordFailure }, () =>
      deps.psp.createCheckoutSession({
        paymentId: payment.id,
        currency: payment.currency,
        lines: orders.map((order) => ({ name: `Order ${order.reference ?? order.id} (seller ${order.sellerId})`, amountMinor: order.amountMinor })),
        returnUrl: payment.returnUrl,
        idempotencyKey: checkoutIdempotencyKey(payment.id, round),
      }),
    );
  } catch (error) {
    const pspError = error as PspError;
    if (pspError.retryable) return new DomainError('PSP_UNAVAILABLE', 'the payment service provider is unavailable; retry with the same idempotency key');
    // The PSP refused the request itself: nothing a retry can fix.
    await deps.store.transaction(async (tx) => {
      const locked = await tx.lockPayment(payment.id);
      if (!locked) return;
      await transitionPayment(tx, locked, { to: 'FAILED', cause: 'psp rejected the checkout', patch: { failureCode: pspError.code ?? 'psp_rejected', failureMessage: pspError.message.slice(0, 500) } });
    });
    deps.onOutboxWritten();
    return 'registered';
  }

  await deps.store.transaction(async (tx) => {
    const locked = await tx.lockPayment(payment.id);
    if (!locked) throw new Error(`payment ${payment.id} vanished during registration`);
    await tx.addTimeline({
      paymentId: payment.id,
      at: new Date(),
      source: 'psp',
      type: 'psp.checkout_session_created',
      message: `checkout session ${session.sessionId} with payment intent ${session.paymentIntentId}`,
      data: { sessionId: session.sessionId, paymentIntentId: session.paymentIntentId, idempotencyKey: checkoutIdempotencyKey(payment.id, round) },
    });
    await transitionPayment(tx, locked, {
      to: 'REQUIRES_PAYMENT',
      cause: 'checkout session registered',
      patch: {
        checkoutUrl: session.url,
        pspCheckoutSessionId: session.sessionId,
        pspPaymentIntentId: session.paymentIntentId,
        nextRecheckAt: new Date(Date.now() + deps.recheck.minAgeMs),
      },
    });
  });
  deps.onOutboxWritten();
  return 'registered';
}

export interface CreateCheckoutCommand {
  caller: Caller;
  input: CreateCheckoutInput;
}

/** Returns the stored (or replayed) result; throws DomainError for bad input or a forbidden caller. */
export async function createCheckout(deps: PaymentsDeps, command: CreateCheckoutCommand): Promise<MutationResult> {
  if (command.caller.role !== 'platform') throw new DomainError('FORBIDDEN', 'only the platform role may create checkouts');
  const checkout = validateCheckoutInput(command.input);
  const { response, replayed } = await runIdempotent({
    db: deps.sql,
    callerId: command.caller.keyId,
    key: checkout.idempotencyKey,
    operation: CREATE_CHECKOUT_OPERATION,
    request: { ...checkout, idempotencyKey: undefined },
    lockTtlMs: idempotencyLockTtlMs(deps.pspPolicy),
    execute: async () => {
      let payment = await deps.store.findPaymentByIdempotencyKey(command.caller.keyId, checkout.idempotencyKey);
      let orders: PaymentOrderRecord[] | undefined;
      if (!payment) {
        const created = await createPayment(deps, command.caller, checkout);
        if (created instanceof DomainError) return { response: errorResponse(null, created) };
        ({ payment, orders } = created);
      }
      if (payment.status === 'CREATED') {
        const registered = await registerWithPsp(deps, payment, orders);
        if (registered instanceof DomainError) return { response: errorResponse(null, registered), retryable: registered.retryable };
      }
      return { response: { paymentId: payment.id, userErrors: [] } satisfies MutationResponse };
    },
  });
  return toMutationResult(response, replayed);
}
