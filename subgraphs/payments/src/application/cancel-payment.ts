// cancelPayment: only while the buyer has not paid (CREATED, REQUIRES_PAYMENT, REQUIRES_ACTION).
// The PSP side is closed first (expire the session, which cancels its intent); its resulting
// state is then applied through the same path as webhooks.
import { DomainError, runIdempotent, type Caller, type JsonValue } from '@clearhouse/shared';
import { UNPAID_STATUSES } from '../domain/payment-status.js';
import { toMutationResult, type MutationResponse, type MutationResult } from './create-checkout.js';
import { idempotencyLockTtlMs, type PaymentsDeps } from './deps.js';
import { expireCheckoutSessionAtPsp, retrievePspState, syncPaymentWithPsp } from './sync-with-psp.js';
import { transitionPayment } from './transition.js';

export const CANCEL_PAYMENT_OPERATION = 'cancelPayment';
const PAYMENT_ID_PATTERN = /^pay_[0-9a-f-]{36}$/;

function failure(paymentId: string | null, error: DomainError): MutationResponse {
  return { paymentId, userErrors: [error.toUserError() as unknown as JsonValue] };
}

function invalidState(paymentId: string, status: string): MutationResponse {
  return failure(paymentId, new DomainError('INVALID_STATE', `a payment in status ${status} can no longer be canceled`, { field: ['input', 'paymentId'] }));
}

async function cancelOnce(deps: PaymentsDeps, paymentId: string): Promise<{ response: MutationResponse; retryable?: boolean }> {
  const payment = await deps.store.findPayment(paymentId);
  if (!payment) return { response: failure(null, new DomainError('NOT_FOUND', `no payment ${paymentId}`, { field: ['input', 'paymentId'] })) };
  if (payment.status === 'CANCELED') return { response: { paymentId, userErrors: [] } };
  if (!UNPAID_STATUSES.includes(payment.status)) return { response: invalidState(paymentId, payment.status) };

  if (payment.pspCheckoutSessionId && payment.pspPaymentIntentId) {
    try {
      const before = await retrievePspState(deps, payment.pspPaymentIntentId);
      if (!UNPAID_STATUSES.includes(before.status) && before.status !== 'CANCELED') {
        // The buyer paid (or is paying) meanwhile: record that instead.
        await syncPaymentWithPsp(deps, paymentId, before, 'cancelPayment found the payment paid');
        return { response: invalidState(paymentId, before.status) };
      }
      const idempotencyKey = await expireCheckoutSessionAtPsp(deps, payment, 'cancel');
      await deps.store.addTimeline({ paymentId, at: new Date(), source: 'psp', type: 'psp.checkout_session_expired', message: `checkout session ${payment.pspCheckoutSessionId} expired for cancelPayment`, data: { idempotencyKey } });
      const after = await retrievePspState(deps, payment.pspPaymentIntentId);
      const outcome = await syncPaymentWithPsp(deps, paymentId, after, 'cancelPayment');
      const current = outcome.kind === 'changed' || outcome.kind === 'unchanged' || outcome.kind === 'illegal' ? outcome.payment : null;
      if (current?.status === 'CANCELED') return { response: { paymentId, userErrors: [] } };
      return { response: invalidState(paymentId, current?.status ?? after.status) };
    } catch (error) {
      deps.logger.warn({ paymentId, err: error }, 'cancelPayment: PSP unavailable');
      return { response: failure(null, new DomainError('PSP_UNAVAILABLE', 'the payment service provider is unavailable; retry with the same idempotency key')), retryable: true };
    }
  }

  // Never registered with the PSP: nothing to close there.
  const changed = await deps.store.transaction(async (tx) => {
    const locked = await tx.lockPayment(paymentId);
    if (!locked) return false;
    return (await transitionPayment(tx, locked, { to: 'CANCELED', cause: 'cancelPayment' })).changed;
  });
  if (!changed) return { response: invalidState(paymentId, payment.status) };
  deps.onOutboxWritten();
  return { response: { paymentId, userErrors: [] } };
}

export async function cancelPayment(deps: PaymentsDeps, caller: Caller, input: { idempotencyKey: string; paymentId: string }): Promise<MutationResult> {
  if (caller.role !== 'platform') throw new DomainError('FORBIDDEN', 'only the platform role may cancel payments');
  if (!PAYMENT_ID_PATTERN.test(input.paymentId)) {
    throw new DomainError('INVALID_INPUT', 'paymentId is not a payment id', { field: ['input', 'paymentId'] });
  }
  const { response, replayed } = await runIdempotent({
    db: deps.sql,
    callerId: caller.keyId,
    key: input.idempotencyKey,
    operation: CANCEL_PAYMENT_OPERATION,
    request: { paymentId: input.paymentId },
    lockTtlMs: idempotencyLockTtlMs(deps.pspPolicy),
    execute: () => cancelOnce(deps, input.paymentId),
  });
  return toMutationResult(response, replayed);
}
