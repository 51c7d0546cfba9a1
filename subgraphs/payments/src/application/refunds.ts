// refundPaymentOrder: reserve → PSP → settle.
//  1. Reserve (one transaction, payment row locked): the amount must fit in what the order has
//     left (amount − refunded − reserved); a PENDING Refund row and the order's reservation are
//     written together, so concurrent refunds can never exceed the order.
//  2. Execute at the PSP outside any transaction (`refunds.create`, key `refund:<refundId>`),
//     retried (bounded) on timeouts; if it stays unanswered the refund stays PENDING and the
//     re-check job finishes it. A permanent rejection fails the refund and frees the amount.
//  3. Settle from the PSP's state (answer, webhook or re-check; the PSP is authoritative):
//     Refund SUCCEEDED, amounts, order and payment statuses, refund.succeeded@1 with the split
//     from planRefund (REFUND_FEE_POLICY) and payment.status_changed@1, in one transaction.
//  4. A SUCCEEDED refund the PSP later reports `failed` (the card issuer rejected it; the PSP
//     holds the money again) is reversed: FAILED (succeededAt and its money plan kept, failedAt,
//     the failure code and the split the reversal made added), the order's and the payment's
//     refunded amounts and statuses go back, refund.reversed@1 (that split) and
//     payment.status_changed@1, in one transaction. FAILED is final: a late `succeeded` never
//     moves it back.
// The Refund row carries the request's (caller, idempotency key), unique: a run that takes over
// a key whose earlier run failed or crashed after step 1 (maybe after the PSP refunded) finishes
// that refund instead of reserving and sending a second one.
import { randomUUID } from 'node:crypto';
import { DomainError, newEvent, planRefund, pspAmountStepMinor, runIdempotent, serializeEventPayload, type Caller, type RefundReversedV1, type RefundSucceededV1 } from '@clearhouse/shared';
import { decideRefund, orderStatusAfterRefund, orderStatusAfterRefundReversal, paymentStatusAfterRefund, paymentStatusAfterRefundReversal, planRefundReversal } from '../domain/aftersale.js';
import { nextOrderStatus, nextOrderStatusAfterRefundReversal } from '../domain/order-status.js';
import { callPsp, type PspCallPolicy } from '../psp/executor.js';
import { PspError, type PspRefundState, type PspWebhookEvent } from '../psp/port.js';
import { aftersaleFailure, aftersaleResult, assertNoNulCharacter, ORDER_ID_PATTERN, orderNotFound, type AftersaleResponse, type AftersaleResult } from './aftersale-common.js';
import { idempotencyLockTtlMs, type PaymentsDeps } from './deps.js';
import type { PaymentRecord, PaymentsTransaction, RefundRecord } from './ports.js';
import { statusChangedEvent, transitionPayment } from './transition.js';

export const REFUND_PAYMENT_ORDER_OPERATION = 'refundPaymentOrder';
const REASON_LENGTH_MAX = 500;

export interface RefundPaymentOrderInput {
  idempotencyKey: string;
  paymentOrderId: string;
  amountMinor?: bigint | null;
  reason?: string | null;
}

/** The PSP key of a refund attempt round: Stripe replays a stored 5xx, so a new round needs a new key. */
export function refundIdempotencyKey(refundId: string, round: number): string {
  return round === 0 ? `refund:${refundId}` : `refund:${refundId}:${round}`;
}

type Reservation = { kind: 'reserved'; refund: RefundRecord; payment: PaymentRecord } | { kind: 'rejected'; response: AftersaleResponse };

async function reserveRefund(deps: PaymentsDeps, callerId: string, input: RefundPaymentOrderInput): Promise<Reservation> {
  const [found] = await deps.store.findOrders([input.paymentOrderId]);
  if (!found) return { kind: 'rejected', response: aftersaleFailure(null, orderNotFound(input.paymentOrderId)) };
  return deps.store.transaction(async (tx): Promise<Reservation> => {
    const payment = await tx.lockPayment(found.paymentId);
    const order = (await tx.ordersOf(found.paymentId)).find((candidate) => candidate.id === input.paymentOrderId);
    if (!payment || !order) return { kind: 'rejected', response: aftersaleFailure(null, orderNotFound(input.paymentOrderId)) };
    const decision = decideRefund(payment.status, order, input.amountMinor ?? null, pspAmountStepMinor(payment.currency));
    if (decision.kind === 'invalid_amount') {
      return { kind: 'rejected', response: aftersaleFailure(null, new DomainError('INVALID_INPUT', decision.message, { field: ['input', 'amountMinor'] })) };
    }
    if (decision.kind === 'invalid_state') {
      return { kind: 'rejected', response: aftersaleFailure(null, new DomainError('INVALID_STATE', decision.message, { field: ['input', 'paymentOrderId'] })) };
    }
    if (decision.kind === 'exceeds_refundable') {
      const field = input.amountMinor === null || input.amountMinor === undefined ? ['input', 'paymentOrderId'] : ['input', 'amountMinor'];
      return { kind: 'rejected', response: aftersaleFailure(null, new DomainError('AMOUNT_EXCEEDS_REFUNDABLE', decision.message, { field })) };
    }
    const at = new Date();
    const refund = {
      id: `rf_${randomUUID()}`,
      paymentId: payment.id,
      paymentOrderId: order.id,
      amountMinor: decision.amountMinor,
      currency: payment.currency,
      status: 'PENDING' as const,
      reason: input.reason ?? null,
      nextRecheckAt: new Date(at.getTime() + deps.recheck.minAgeMs),
      idempotencyCallerId: callerId,
      idempotencyKey: input.idempotencyKey,
    };
    await tx.insertRefund(refund);
    await tx.updateOrder(order.id, { reservedRefundMinor: order.reservedRefundMinor + decision.amountMinor });
    await tx.addTimeline({
      paymentId: payment.id,
      at,
      source: 'payments',
      type: 'refund.requested',
      message: `refund ${refund.id} of ${decision.amountMinor} ${payment.currency} minor units on order ${order.id} reserved`,
      data: { refundId: refund.id, paymentOrderId: order.id, amountMinor: decision.amountMinor.toString() },
    });
    const stored = await tx.findRefund(refund.id);
    if (!stored) throw new Error(`refund ${refund.id} vanished`);
    return { kind: 'reserved', refund: stored, payment };
  });
}

export type RefundExecution = { kind: 'answered'; state: PspRefundState } | { kind: 'rejected'; error: PspError } | { kind: 'unanswered'; error: PspError };

/** Creates the refund at the PSP (never inside a transaction). A replayed 5xx moves to a new key round. */
export async function executeRefundAtPsp(deps: PaymentsDeps, refund: RefundRecord, paymentIntentId: string, policy: PspCallPolicy = deps.pspPolicy): Promise<RefundExecution> {
  let round = refund.pspRound;
  try {
    const state = await callPsp(
      {
        operation: 'refunds.create',
        policy,
        logger: deps.logger,
        onAttemptFailed: async (error) => {
          if (error.answeredWithServerError) round = await deps.store.bumpRefundRound(refund.id);
        },
      },
      () =>
        deps.psp.createRefund({
          refundId: refund.id,
          paymentOrderId: refund.paymentOrderId,
          paymentIntentId,
          amountMinor: refund.amountMinor,
          idempotencyKey: refundIdempotencyKey(refund.id, round),
        }),
    );
    await deps.store.addTimeline({ paymentId: refund.paymentId, at: new Date(), source: 'psp', type: 'psp.refund_created', message: `refund ${refund.id} → PSP refund ${state.pspRefundId} (${state.status})`, data: { refundId: refund.id, pspRefundId: state.pspRefundId, idempotencyKey: refundIdempotencyKey(refund.id, round) } });
    return { kind: 'answered', state };
  } catch (raw) {
    const error = raw instanceof PspError ? raw : new PspError('connection', (raw as Error).message, null, null, { cause: raw });
    await deps.store.addTimeline({
      paymentId: refund.paymentId,
      at: new Date(),
      source: 'psp',
      type: 'psp.refund_failed',
      message: `refund ${refund.id} at the PSP: ${error.kind}${error.retryable ? ' (stays PENDING; re-checked later)' : ''}: ${error.message.slice(0, 200)}`,
      data: { refundId: refund.id, kind: error.kind, code: error.code },
    });
    return error.retryable ? { kind: 'unanswered', error } : { kind: 'rejected', error };
  }
}

export type RefundSettlement = { kind: 'succeeded' | 'failed' | 'reversed' | 'pending' | 'unchanged'; refund: RefundRecord | null };

/**
 * Applies the PSP's state of a refund to ours. Idempotent: a PENDING refund settles; a SUCCEEDED
 * one changes only when the PSP reports it failed (reversed); FAILED is final.
 */
export async function applyPspRefundState(deps: PaymentsDeps, refundId: string, state: PspRefundState, cause: string): Promise<RefundSettlement> {
  const [known] = await deps.store.findRefunds([refundId]);
  if (!known) return { kind: 'unchanged', refund: null };
  const outcome = await deps.store.transaction(async (tx): Promise<RefundSettlement> => {
    const payment = await tx.lockPayment(known.paymentId);
    const refund = await tx.findRefund(refundId);
    const reversal = refund?.status === 'SUCCEEDED' && state.status === 'failed';
    if (!payment || !refund || (refund.status !== 'PENDING' && !reversal)) return { kind: 'unchanged', refund };
    if (refund.pspRefundId !== null && refund.pspRefundId !== state.pspRefundId) {
      deps.logger.error({ refundId, known: refund.pspRefundId, reported: state.pspRefundId }, 'two PSP refunds for one refund; keeping the first');
      return { kind: 'unchanged', refund };
    }
    if (state.amountMinor !== refund.amountMinor || state.currency !== refund.currency) {
      deps.logger.error({ refundId, amountMinor: String(refund.amountMinor), pspAmountMinor: String(state.amountMinor) }, 'PSP refund amount differs from ours; nothing written');
      return { kind: 'unchanged', refund };
    }
    const at = new Date();
    if (reversal) {
      await reverseSucceededRefund(deps, tx, payment, refund, state, cause, at);
      return { kind: 'reversed', refund: await tx.findRefund(refund.id) };
    }
    if (refund.pspRefundId === null) await tx.updateRefund(refund.id, { pspRefundId: state.pspRefundId });
    if (state.status === 'succeeded') {
      await settleSucceededRefund(deps, tx, payment, refund, state, cause, at);
      return { kind: 'succeeded', refund: await tx.findRefund(refund.id) };
    }
    if (state.status === 'failed' || state.status === 'canceled') {
      await failRefund(tx, refund, state.failureReason ?? `psp_${state.status}`, cause, at);
      return { kind: 'failed', refund: await tx.findRefund(refund.id) };
    }
    return { kind: 'pending', refund: await tx.findRefund(refund.id) };
  });
  if (outcome.kind === 'succeeded' || outcome.kind === 'reversed') deps.onOutboxWritten();
  return outcome;
}

async function settleSucceededRefund(deps: PaymentsDeps, tx: PaymentsTransaction, payment: PaymentRecord, refund: RefundRecord, state: PspRefundState, cause: string, at: Date): Promise<void> {
  const order = (await tx.ordersOf(payment.id)).find((candidate) => candidate.id === refund.paymentOrderId);
  if (!order) throw new Error(`refund ${refund.id} of a missing order ${refund.paymentOrderId}`);
  const policy = deps.aftersale.refundFeePolicy;
  const plan = planRefund(policy, { amountMinor: order.amountMinor, feeMinor: order.feeMinor, refundedBeforeMinor: order.refundedAmountMinor, pendingHeldMinor: order.pendingHeldMinor }, refund.amountMinor);
  const orderRefundedMinor = order.refundedAmountMinor + refund.amountMinor;
  await tx.updateOrder(order.id, {
    refundedAmountMinor: orderRefundedMinor,
    reservedRefundMinor: order.reservedRefundMinor - refund.amountMinor,
    pendingHeldMinor: order.pendingHeldMinor - plan.pendingMinor,
    status: nextOrderStatus(order.status, orderStatusAfterRefund(order, orderRefundedMinor)),
  });
  await tx.updateRefund(refund.id, { status: 'SUCCEEDED', succeededAt: at, nextRecheckAt: null, ...plan });
  const payload: RefundSucceededV1 = {
    refundId: refund.id,
    paymentId: payment.id,
    paymentOrderId: order.id,
    sellerId: order.sellerId,
    currency: payment.currency,
    amountMinor: refund.amountMinor,
    feePolicy: policy,
    ...plan,
    pspRefundId: state.pspRefundId,
    refundedAt: at,
  };
  await tx.writeEvent(newEvent('refund.succeeded', 1, payment.id, serializeEventPayload('refund.succeeded@1', payload)));
  await tx.addTimeline({
    paymentId: payment.id,
    at,
    source: 'payments',
    type: 'refund.succeeded',
    message: `refund ${refund.id}: ${refund.amountMinor} ${payment.currency} minor units back to the buyer (${cause})`,
    data: { refundId: refund.id, paymentOrderId: order.id, pspRefundId: state.pspRefundId, feePolicy: policy, feeRefundMinor: plan.feeRefundMinor.toString(), pendingMinor: plan.pendingMinor.toString(), availableMinor: plan.availableMinor.toString() },
  });

  const paymentRefundedMinor = payment.refundedAmountMinor + refund.amountMinor;
  const target = paymentStatusAfterRefund(payment.amountMinor, paymentRefundedMinor);
  if (payment.status === 'DISPUTED') {
    // A refund that was in flight when the chargeback arrived: the payment stays DISPUTED and
    // returns to the refunded status if the dispute is won.
    await keepStatusWithNewRefundedAmount(tx, payment, paymentRefundedMinor, at);
    const dispute = await tx.openDisputeOf(payment.id);
    if (dispute) await tx.updateDispute(dispute.id, { statusBefore: target });
    return;
  }
  const result = await transitionPayment(tx, payment, { to: target, patch: { refundedAmountMinor: paymentRefundedMinor }, cause: `refund ${refund.id}`, at });
  if (result.changed) return;
  if (result.decision.kind === 'illegal') throw new Error(`refund ${refund.id}: ${result.decision.reason}`);
  await keepStatusWithNewRefundedAmount(tx, payment, paymentRefundedMinor, at);
}

/** The status stays, the refunded amount changes: saved, and announced (subscriptions follow refunded amounts too). */
async function keepStatusWithNewRefundedAmount(tx: PaymentsTransaction, payment: PaymentRecord, refundedAmountMinor: bigint, at: Date): Promise<void> {
  await tx.updatePayment(payment.id, payment.version, { refundedAmountMinor });
  const updated = { ...payment, refundedAmountMinor, version: payment.version + 1 };
  await tx.writeEvent(statusChangedEvent(updated, await tx.ordersOf(payment.id), payment.status, payment.status, at));
}

/**
 * A SUCCEEDED refund the PSP reports failed: the money is back at the PSP, so what the refund did
 * is undone (its plan is kept on the row; failedAt, the failure code and the split the reversal
 * made, as published in refund.reversed@1, are added: they can differ from the plan). The platform
 * takes back the fee that leaves it returning the share of what stays refunded, the seller gets the
 * rest, to pending unless the order was released since (planRefundReversal on the order's SUCCEEDED
 * refunds, this one included); the statuses move back through the refund reversal tables.
 */
async function reverseSucceededRefund(deps: PaymentsDeps, tx: PaymentsTransaction, payment: PaymentRecord, refund: RefundRecord, state: PspRefundState, cause: string, at: Date): Promise<void> {
  const order = (await tx.ordersOf(payment.id)).find((candidate) => candidate.id === refund.paymentOrderId);
  if (!order) throw new Error(`refund ${refund.id} of a missing order ${refund.paymentOrderId}`);
  if (refund.feeRefundMinor === null || refund.pendingMinor === null || refund.availableMinor === null || refund.pspRefundId === null) {
    throw new Error(`refund ${refund.id} succeeded without its money plan or PSP refund id`);
  }
  const split = planRefundReversal(deps.aftersale.refundFeePolicy, order, { feeRefundMinor: refund.feeRefundMinor, pendingMinor: refund.pendingMinor, availableMinor: refund.availableMinor });
  if (split.feeRefundMinor + split.pendingMinor + split.availableMinor !== refund.amountMinor) {
    throw new Error(`refund ${refund.id}: reversal split ${split.feeRefundMinor}+${split.pendingMinor}+${split.availableMinor} does not add up to ${refund.amountMinor}`);
  }
  const orderRefundedMinor = order.refundedAmountMinor - refund.amountMinor;
  if (orderRefundedMinor < 0n) throw new Error(`refund ${refund.id}: order ${order.id} refunded ${order.refundedAmountMinor} < ${refund.amountMinor}`);
  await tx.updateOrder(order.id, {
    refundedAmountMinor: orderRefundedMinor,
    pendingHeldMinor: order.pendingHeldMinor + split.pendingMinor,
    status: nextOrderStatusAfterRefundReversal(order.status, orderStatusAfterRefundReversal(order, orderRefundedMinor)),
  });
  const failureReason = (state.failureReason ?? 'psp_failed').slice(0, 200);
  await tx.updateRefund(refund.id, {
    status: 'FAILED',
    failureCode: failureReason,
    failedAt: at,
    reversalFeeRefundMinor: split.feeRefundMinor,
    reversalPendingMinor: split.pendingMinor,
    reversalAvailableMinor: split.availableMinor,
    nextRecheckAt: null,
  });
  const payload: RefundReversedV1 = {
    refundId: refund.id,
    paymentId: payment.id,
    paymentOrderId: order.id,
    sellerId: order.sellerId,
    currency: refund.currency,
    amountMinor: refund.amountMinor,
    ...split,
    pspRefundId: refund.pspRefundId,
    failureReason,
    reversedAt: at,
  };
  await tx.writeEvent(newEvent('refund.reversed', 1, payment.id, serializeEventPayload('refund.reversed@1', payload)));
  await tx.addTimeline({
    paymentId: payment.id,
    at,
    source: 'payments',
    type: 'refund.reversed',
    message: `refund ${refund.id} failed at the PSP after it had succeeded (${failureReason}): ${refund.amountMinor} ${refund.currency} minor units are back with the PSP and refundable again (${cause})`,
    data: { refundId: refund.id, paymentOrderId: order.id, pspRefundId: refund.pspRefundId, failureReason, feeRefundMinor: split.feeRefundMinor.toString(), pendingMinor: split.pendingMinor.toString(), availableMinor: split.availableMinor.toString() },
  });

  const paymentRefundedMinor = payment.refundedAmountMinor - refund.amountMinor;
  const target = paymentStatusAfterRefundReversal(paymentRefundedMinor);
  if (payment.status === 'DISPUTED') {
    // The payment stays DISPUTED; a won dispute returns it to what the refunds now leave.
    await keepStatusWithNewRefundedAmount(tx, payment, paymentRefundedMinor, at);
    const dispute = await tx.openDisputeOf(payment.id);
    if (dispute) await tx.updateDispute(dispute.id, { statusBefore: target });
    return;
  }
  const result = await transitionPayment(tx, payment, { to: target, patch: { refundedAmountMinor: paymentRefundedMinor }, cause: `refund ${refund.id} reversed`, at, refundReversal: true });
  if (result.changed) return;
  if (result.decision.kind === 'illegal') throw new Error(`refund ${refund.id}: ${result.decision.reason}`);
  await keepStatusWithNewRefundedAmount(tx, payment, paymentRefundedMinor, at);
}

async function failRefund(tx: PaymentsTransaction, refund: RefundRecord, failureCode: string, cause: string, at: Date): Promise<void> {
  const order = (await tx.ordersOf(refund.paymentId)).find((candidate) => candidate.id === refund.paymentOrderId);
  if (!order) throw new Error(`refund ${refund.id} of a missing order ${refund.paymentOrderId}`);
  await tx.updateOrder(order.id, { reservedRefundMinor: order.reservedRefundMinor - refund.amountMinor });
  await tx.updateRefund(refund.id, { status: 'FAILED', failureCode: failureCode.slice(0, 200), failedAt: at, nextRecheckAt: null });
  await tx.addTimeline({
    paymentId: refund.paymentId,
    at,
    source: 'payments',
    type: 'refund.failed',
    message: `refund ${refund.id} failed (${failureCode}); ${refund.amountMinor} minor units are refundable again (${cause})`,
    data: { refundId: refund.id, paymentOrderId: order.id, failureCode },
  });
}

/** A permanent PSP rejection before the PSP created anything: FAILED, the reservation released. */
async function failRejectedRefund(deps: PaymentsDeps, refund: RefundRecord, error: PspError): Promise<void> {
  await deps.store.transaction(async (tx) => {
    await tx.lockPayment(refund.paymentId);
    const current = await tx.findRefund(refund.id);
    if (current?.status !== 'PENDING') return;
    await failRefund(tx, current, error.code ?? 'psp_rejected', 'PSP rejected the refund', new Date());
  });
}

function pspRefused(refundId: string, message: string): AftersaleResponse {
  return aftersaleFailure(refundId, new DomainError('INVALID_STATE', `the payment service provider refused the refund: ${message.slice(0, 300)}`, { field: ['input', 'paymentOrderId'] }));
}

/** Steps 2 and 3 for a refund just reserved. */
async function executeAndSettle(deps: PaymentsDeps, refund: RefundRecord, paymentIntentId: string): Promise<AftersaleResponse> {
  const execution = await executeRefundAtPsp(deps, refund, paymentIntentId);
  if (execution.kind === 'answered') {
    await applyPspRefundState(deps, refund.id, execution.state, 'refundPaymentOrder');
    return { id: refund.id, userErrors: [] };
  }
  if (execution.kind === 'rejected') {
    await failRejectedRefund(deps, refund, execution.error);
    return pspRefused(refund.id, execution.error.message);
  }
  // Unanswered: the refund is accepted and stays PENDING; the re-check job finishes it.
  deps.logger.warn({ refundId: refund.id, kind: execution.error.kind }, 'refund not confirmed by the PSP yet; the re-check will finish it');
  return { id: refund.id, userErrors: [] };
}

/**
 * The refund an earlier run under the same key made: the same answer for the same input, and a
 * refund still PENDING is brought up to the PSP's state (looked up first, created with its own
 * key round only when the PSP has none), never reserved or sent a second time.
 */
async function resumeRefund(deps: PaymentsDeps, refund: RefundRecord, input: RefundPaymentOrderInput): Promise<AftersaleResponse> {
  const requestedMinor = input.amountMinor ?? null;
  const sameInput = refund.paymentOrderId === input.paymentOrderId && refund.reason === (input.reason ?? null) && (requestedMinor === null || requestedMinor === refund.amountMinor);
  if (!sameInput) throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was already used with a different input', { field: ['input', 'idempotencyKey'] });
  if (refund.status === 'SUCCEEDED') return { id: refund.id, userErrors: [] };
  if (refund.status === 'FAILED') return pspRefused(refund.id, refund.failureCode ?? 'psp_rejected');
  const payment = await deps.store.findPayment(refund.paymentId);
  if (!payment?.pspPaymentIntentId) throw new Error(`refund ${refund.id}: payment ${refund.paymentId} has no payment intent`);
  try {
    const caught = await catchUpWithPsp(deps, refund, payment.pspPaymentIntentId, deps.pspPolicy, 'refundPaymentOrder (taken over)');
    return caught.kind === 'rejected' ? pspRefused(refund.id, caught.error.message) : { id: refund.id, userErrors: [] };
  } catch (error) {
    if (!(error instanceof PspError) || !error.retryable) throw error;
    deps.logger.warn({ refundId: refund.id, kind: error.kind }, 'refund not confirmed by the PSP yet; the re-check will finish it');
    return { id: refund.id, userErrors: [] };
  }
}

async function refundOnce(deps: PaymentsDeps, callerId: string, input: RefundPaymentOrderInput): Promise<AftersaleResponse> {
  const earlier = await deps.store.findRefundByIdempotencyKey(callerId, input.idempotencyKey);
  if (earlier) return resumeRefund(deps, earlier, input);
  const reservation = await reserveRefund(deps, callerId, input);
  if (reservation.kind === 'rejected') return reservation.response;
  const { refund, payment } = reservation;
  if (!payment.pspPaymentIntentId) throw new Error(`payment ${payment.id} succeeded without a payment intent`);
  return executeAndSettle(deps, refund, payment.pspPaymentIntentId);
}

export async function refundPaymentOrder(deps: PaymentsDeps, caller: Caller, input: RefundPaymentOrderInput): Promise<AftersaleResult> {
  if (caller.role !== 'platform') throw new DomainError('FORBIDDEN', 'only the platform role may refund orders');
  if (!ORDER_ID_PATTERN.test(input.paymentOrderId)) throw orderNotFound(input.paymentOrderId);
  const amountMinor = input.amountMinor ?? null;
  if (amountMinor !== null && amountMinor <= 0n) throw new DomainError('INVALID_INPUT', 'amountMinor must be greater than zero', { field: ['input', 'amountMinor'] });
  const reason = input.reason ?? null;
  if (reason !== null && (reason.length === 0 || reason.length > REASON_LENGTH_MAX)) {
    throw new DomainError('INVALID_INPUT', `reason must be 1-${REASON_LENGTH_MAX} characters`, { field: ['input', 'reason'] });
  }
  if (reason !== null) assertNoNulCharacter(reason, ['input', 'reason']);
  const { response, replayed } = await runIdempotent({
    db: deps.sql,
    callerId: caller.keyId,
    key: input.idempotencyKey,
    operation: REFUND_PAYMENT_ORDER_OPERATION,
    request: { paymentOrderId: input.paymentOrderId, amountMinor: amountMinor === null ? null : amountMinor.toString(), reason },
    lockTtlMs: idempotencyLockTtlMs(deps.pspPolicy),
    execute: async () => ({ response: await refundOnce(deps, caller.keyId, { ...input, amountMinor, reason }) }),
  });
  return aftersaleResult(response, replayed);
}

/** Refund webhooks (`refund.*`, `charge.refunded`): re-read the refund(s) from the PSP and settle ours. */
export async function handleRefundWebhook(deps: PaymentsDeps, event: PspWebhookEvent): Promise<string> {
  let states: PspRefundState[];
  if (event.objectType === 'refund' && event.objectId) states = [await deps.psp.retrieveRefund(event.objectId)];
  else if (event.paymentIntentId) states = await deps.psp.listRefunds(event.paymentIntentId);
  else return 'ignored';
  let settled = 0;
  for (const state of states) {
    if (!state.refundId) continue;
    const outcome = await applyPspRefundState(deps, state.refundId, state, `webhook ${event.type}`);
    if (outcome.kind === 'succeeded' || outcome.kind === 'failed' || outcome.kind === 'reversed') settled += 1;
  }
  return settled > 0 ? 'settled' : 'unchanged';
}

export interface RefundRecheckSummary {
  checked: number;
  settled: number;
  failed: number;
}

type PspCatchUp = { kind: 'applied'; settlement: RefundSettlement } | { kind: 'rejected'; error: PspError } | { kind: 'unanswered' };

/**
 * Brings a PENDING refund up to the PSP's state: asked about first (by its PSP id, or found among
 * the intent's refunds by our id), created at the PSP (its current key round) only when the PSP
 * has none. A failed PSP look-up throws.
 */
async function catchUpWithPsp(deps: PaymentsDeps, refund: RefundRecord, paymentIntentId: string, policy: PspCallPolicy, cause: string): Promise<PspCatchUp> {
  let state: PspRefundState | undefined;
  if (refund.pspRefundId) state = await callPsp({ operation: 'refunds.retrieve', policy, logger: deps.logger }, () => deps.psp.retrieveRefund(refund.pspRefundId ?? ''));
  else {
    const listed = await callPsp({ operation: 'refunds.list', policy, logger: deps.logger }, () => deps.psp.listRefunds(paymentIntentId));
    state = listed.find((candidate) => candidate.refundId === refund.id);
  }
  if (!state) {
    const execution = await executeRefundAtPsp(deps, refund, paymentIntentId, policy);
    if (execution.kind === 'rejected') {
      await failRejectedRefund(deps, refund, execution.error);
      return { kind: 'rejected', error: execution.error };
    }
    if (execution.kind === 'unanswered') return { kind: 'unanswered' };
    state = execution.state;
  }
  return { kind: 'applied', settlement: await applyPspRefundState(deps, refund.id, state, cause) };
}

/** The safety net: PENDING refunds are asked about (or created again when the PSP never answered). */
export async function recheckPendingRefunds(deps: PaymentsDeps, batchSize: number): Promise<RefundRecheckSummary> {
  const due = await deps.store.claimRefundsForRecheck(batchSize, deps.recheck.minAgeMs);
  const summary: RefundRecheckSummary = { checked: 0, settled: 0, failed: 0 };
  const once = { ...deps.pspPolicy, attemptsMax: 1 };
  for (const refund of due) {
    summary.checked += 1;
    try {
      const payment = await deps.store.findPayment(refund.paymentId);
      if (!payment?.pspPaymentIntentId) continue;
      const caught = await catchUpWithPsp(deps, refund, payment.pspPaymentIntentId, once, 'scheduled re-check');
      if (caught.kind === 'rejected' || (caught.kind === 'applied' && (caught.settlement.kind === 'succeeded' || caught.settlement.kind === 'failed'))) summary.settled += 1;
    } catch (error) {
      summary.failed += 1;
      deps.logger.warn({ refundId: refund.id, err: error }, 're-check of a refund failed; it stays due');
    }
  }
  if (summary.checked > 0) deps.logger.info(summary, 'pending refunds re-checked against the PSP');
  return summary;
}
