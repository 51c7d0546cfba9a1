// createCheckout: validate → (idempotency) → risk → save CREATED payment + orders → register ONE
// checkout session with the PSP (outside any transaction, derived idempotency key) → save
// REQUIRES_PAYMENT with the hosted page URL, and the mutation's response under its idempotency
// key, in one transaction. If the PSP stays unavailable the idempotency key is released: a retry
// with the same key finds the same payment (by caller + key) and finishes it.
//
// Round trips on the usual path (a new key): claim the key, one statement for the payment, its
// orders and its first timeline entry (which also counts the buyer's recent payments for the
// velocity rule), the PSP call, and one transaction (the status change without a locked re-read:
// the version the payment was created with is checked by the UPDATE; on a mismatch it is redone
// under the row lock).
import { randomUUID } from 'node:crypto';
import { DomainError, hashRequest, runIdempotent, type Caller, type IdempotentExecutionContext, type JsonValue, type UserErrorPayload } from '@clearhouse/shared';
import { splitOrderFees, validateCheckoutInput, type CreateCheckoutInput, type ValidCheckout } from '../domain/checkout.js';
import { evaluateRisk } from '../domain/risk.js';
import { callPsp } from '../psp/executor.js';
import type { PspCheckoutSession, PspError } from '../psp/port.js';
import { idempotencyLockTtlMs, type PaymentsDeps } from './deps.js';
import { BuyerVelocityExceededError, DuplicateIdempotencyKeyError, NotDeferrableError, StaleVersionError, type PaymentOrderRecord, type PaymentRecord, type PaymentsTransaction, type StoredPayment } from './ports.js';
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
  /** The payment and its orders as this run left them in the database, when it has them in hand. */
  current?: StoredPayment;
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

/** The risk verdict as a RISK_REJECTED error, or null when the checkout may go on. */
function riskRejection(deps: PaymentsDeps, checkout: ValidCheckout, buyerRecentPaymentCount: number): DomainError | null {
  const verdict = evaluateRisk(
    { buyerId: checkout.buyerId, sellerIds: checkout.orders.map((order) => order.sellerId), currency: checkout.currency, totalMinor: checkout.totalMinor, buyerRecentPaymentCount },
    deps.risk,
  );
  if (verdict.ok) return null;
  deps.logger.info({ buyerId: checkout.buyerId, rule: verdict.rule }, 'checkout rejected by risk rules');
  return new DomainError('RISK_REJECTED', verdict.message);
}

/**
 * The risk rules that need no database first; the buyer's velocity is counted by the statement
 * that creates the payment (it writes nothing when the buyer is over the limit), one round trip
 * instead of a count and an insert.
 */
async function createPayment(deps: PaymentsDeps, caller: Caller, checkout: ValidCheckout): Promise<StoredPayment | DomainError> {
  const rejected = riskRejection(deps, checkout, 0);
  if (rejected) return rejected;
  try {
    return await insertPayment(deps, caller, checkout);
  } catch (error) {
    if (!(error instanceof BuyerVelocityExceededError)) throw error;
    const rejection = riskRejection(deps, checkout, error.recentCount);
    if (!rejection) throw new Error(`the buyer's ${error.recentCount} recent payments exceed the velocity limit by the store's count but not by the risk rules`);
    return rejection;
  }
}

function insertPayment(deps: PaymentsDeps, caller: Caller, checkout: ValidCheckout): Promise<StoredPayment> {
  const paymentId = newPaymentId();
  const splits = splitOrderFees(checkout.orders.map((order) => order.amountMinor), deps.fees);
  return deps.store.createPayment(
    {
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
    },
    {
      paymentId,
      at: new Date(),
      source: 'payments',
      type: 'payment.created',
      message: `checkout of ${checkout.totalMinor} ${checkout.currency} minor units for ${checkout.orders.length} order(s)`,
      data: { buyerId: checkout.buyerId, amountMinor: checkout.totalMinor.toString(), currency: checkout.currency, orders: checkout.orders.length },
    },
    { since: new Date(Date.now() - deps.risk.buyerVelocityWindowMs), max: deps.risk.buyerPaymentsPerWindowMax },
  );
}

export interface RegistrationOptions {
  /** The orders when the caller has them already (a payment created in this request). */
  knownOrders?: readonly PaymentOrderRecord[];
  /**
   * `payment` (and knownOrders) are the rows as this request inserted them: the status change may
   * skip the locked re-read (the UPDATE checks the version; on a mismatch it runs again locked).
   */
  fresh?: boolean;
  /** Runs inside the registration's transaction (e.g. storing the mutation's response). */
  alsoInTransaction?: (tx: PaymentsTransaction) => Promise<void>;
}

/**
 * Registers the payment's checkout session with the PSP and moves it to REQUIRES_PAYMENT.
 * Returns the payment and orders as stored afterwards (null when the PSP rejected the checkout and
 * the payment FAILED), or PSP_UNAVAILABLE.
 */
export async function registerWithPsp(deps: PaymentsDeps, payment: PaymentRecord, options: RegistrationOptions = {}): Promise<{ current: StoredPayment | null } | DomainError> {
  const orders = options.knownOrders ?? (await deps.store.ordersOfPayments([payment.id]));
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
    return { current: null };
  }

  const sessionRegistered = async (tx: PaymentsTransaction, current: PaymentRecord, currentOrders: readonly PaymentOrderRecord[] | undefined): Promise<StoredPayment> => {
    await tx.addTimeline({
      paymentId: payment.id,
      at: new Date(),
      source: 'psp',
      type: 'psp.checkout_session_created',
      message: `checkout session ${session.sessionId} with payment intent ${session.paymentIntentId}`,
      data: { sessionId: session.sessionId, paymentIntentId: session.paymentIntentId, idempotencyKey: checkoutIdempotencyKey(payment.id, round) },
    });
    const outcome = await transitionPayment(tx, current, {
      to: 'REQUIRES_PAYMENT',
      cause: 'checkout session registered',
      patch: {
        checkoutUrl: session.url,
        pspCheckoutSessionId: session.sessionId,
        pspPaymentIntentId: session.paymentIntentId,
        nextRecheckAt: new Date(Date.now() + deps.recheck.minAgeMs),
      },
      ...(currentOrders ? { knownOrders: currentOrders } : {}),
    });
    await options.alsoInTransaction?.(tx);
    return outcome.changed ? { payment: outcome.payment, orders: [...outcome.orders] } : { payment: outcome.payment, orders: await tx.ordersOf(payment.id) };
  };

  let current: StoredPayment | undefined;
  if (options.fresh === true && options.knownOrders) {
    // The payment and orders are as this request inserted them: the registration is one
    // statement, without a transaction around it (version-checked, so a concurrent change
    // makes it write nothing, and it is done again under the row lock below).
    const knownOrders = options.knownOrders;
    try {
      current = await deps.store.changeAlone(payment, (tx) => sessionRegistered(tx, payment, knownOrders));
    } catch (error) {
      if (!(error instanceof StaleVersionError) && !(error instanceof NotDeferrableError)) throw error;
      deps.logger.info({ paymentId: payment.id, reason: error.name }, 'payment registration redone under the row lock');
    }
  }
  current ??= await deps.store.transaction(async (tx) => {
    const locked = await tx.lockPayment(payment.id);
    if (!locked) throw new Error(`payment ${payment.id} vanished during registration`);
    return sessionRegistered(tx, locked, undefined);
  });
  deps.onOutboxWritten();
  return { current };
}

export interface CreateCheckoutCommand {
  caller: Caller;
  input: CreateCheckoutInput;
}

/** What createCheckout's idempotency hashes: the checked input without its key. */
function checkoutRequest(checkout: Omit<ValidCheckout, 'idempotencyKey'>): Omit<ValidCheckout, 'idempotencyKey'> {
  return { buyerId: checkout.buyerId, currency: checkout.currency, orders: checkout.orders, totalMinor: checkout.totalMinor, returnUrl: checkout.returnUrl, metadata: checkout.metadata };
}

/**
 * The payment found under the key must be the one this input makes. The key row says so while it
 * is kept; once it was deleted (past its retention) and the key is reused, only the payment can
 * tell: another input under the same key is IDEMPOTENCY_KEY_REUSED, never the old payment
 * passed off as the new checkout.
 */
async function assertMadeFrom(deps: PaymentsDeps, payment: PaymentRecord, checkout: ValidCheckout): Promise<PaymentRecord> {
  const orders = await deps.store.ordersOfPayments([payment.id]);
  const stored = checkoutRequest({
    buyerId: payment.buyerId,
    currency: payment.currency,
    orders: orders.map((order) => ({ sellerId: order.sellerId, amountMinor: order.amountMinor, reference: order.reference })),
    totalMinor: payment.amountMinor,
    returnUrl: payment.returnUrl,
    metadata: (payment.metadata ?? null) as Record<string, unknown> | null,
  });
  if (hashRequest(CREATE_CHECKOUT_OPERATION, stored) !== hashRequest(CREATE_CHECKOUT_OPERATION, checkoutRequest(checkout))) {
    throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used with a different input', { field: ['input', 'idempotencyKey'] });
  }
  return payment;
}

/** The payment this caller created under this key in an earlier run, or a new one. */
async function findOrCreatePayment(deps: PaymentsDeps, command: CreateCheckoutCommand, checkout: ValidCheckout, takeover: boolean): Promise<{ created: StoredPayment } | { payment: PaymentRecord } | DomainError> {
  // A key never seen before cannot have a payment yet, unless its key row was deleted after the
  // retention period and the key reused: the unique (caller, key) of payments catches that.
  if (takeover) {
    const payment = await deps.store.findPaymentByIdempotencyKey(command.caller.keyId, checkout.idempotencyKey);
    if (payment) return { payment: await assertMadeFrom(deps, payment, checkout) };
  }
  try {
    const created = await createPayment(deps, command.caller, checkout);
    return created instanceof DomainError ? created : { created };
  } catch (error) {
    if (!(error instanceof DuplicateIdempotencyKeyError)) throw error;
    const payment = await deps.store.findPaymentByIdempotencyKey(command.caller.keyId, checkout.idempotencyKey);
    if (!payment) throw error;
    return { payment: await assertMadeFrom(deps, payment, checkout) };
  }
}

/** Returns the stored (or replayed) result; throws DomainError for bad input or a forbidden caller. */
export async function createCheckout(deps: PaymentsDeps, command: CreateCheckoutCommand): Promise<MutationResult> {
  if (command.caller.role !== 'platform') throw new DomainError('FORBIDDEN', 'only the platform role may create checkouts');
  const checkout = validateCheckoutInput(command.input);
  let current: StoredPayment | undefined;
  const { response, replayed } = await runIdempotent({
    db: deps.sql,
    callerId: command.caller.keyId,
    key: checkout.idempotencyKey,
    operation: CREATE_CHECKOUT_OPERATION,
    request: checkoutRequest(checkout),
    lockTtlMs: idempotencyLockTtlMs(deps.pspPolicy),
    execute: async (context: IdempotentExecutionContext) => {
      const found = await findOrCreatePayment(deps, command, checkout, context.takeover);
      if (found instanceof DomainError) return { response: errorResponse(null, found) };
      const payment = 'created' in found ? found.created.payment : found.payment;
      const success: MutationResponse = { paymentId: payment.id, userErrors: [] };
      if (payment.status !== 'CREATED') return { response: success };
      const registered = await registerWithPsp(deps, payment, {
        ...('created' in found ? { knownOrders: found.created.orders, fresh: true } : {}),
        alsoInTransaction: (tx) => tx.completeIdempotentRequest(context, success),
      });
      if (registered instanceof DomainError) return { response: errorResponse(null, registered), retryable: registered.retryable };
      if (registered.current === null) return { response: success };
      current = registered.current;
      return { response: success, completed: true };
    },
  });
  return { ...toMutationResult(response, replayed), ...(current ? { current } : {}) };
}
