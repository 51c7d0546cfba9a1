// Brings a payment in line with the PSP's current state of its payment intent: the path shared
// by webhooks and the re-check job (the PSP's state is authoritative, never an event payload).
// syncRefundWithPsp does the same for one refund, by its PSP id (the reconciliation's re-sync).
import { DomainError } from '@clearhouse/shared';
import { AFTERSALE_STATUSES, PSP_PENDING_STATUSES } from '../domain/payment-status.js';
import { callPsp, type PspCallPolicy } from '../psp/executor.js';
import type { PspError, PspPaymentState, PspWebhookEvent } from '../psp/port.js';
import { recheckDelayMs, type PaymentsDeps } from './deps.js';
import { NotDeferrableError, StaleVersionError, WebhookAlreadyRecordedError, type PaymentOrderRecord, type PaymentPatch, type PaymentRecord, type PaymentsTransaction, type RefundRecord } from './ports.js';
import { applyPspRefundState, type RefundSettlement } from './refunds.js';
import { transitionPayment } from './transition.js';

export type SyncOutcome =
  | { kind: 'changed'; payment: PaymentRecord }
  | { kind: 'unchanged'; payment: PaymentRecord; reason: string }
  | { kind: 'illegal'; payment: PaymentRecord; reason: string }
  | { kind: 'duplicate_webhook' }
  | { kind: 'unknown_payment' };

export async function retrievePspState(deps: PaymentsDeps, paymentIntentId: string, policy: PspCallPolicy = deps.pspPolicy): Promise<PspPaymentState> {
  return callPsp({ operation: 'payment_intents.retrieve', policy, logger: deps.logger }, () => deps.psp.retrievePaymentIntent(paymentIntentId));
}

export type RefundSyncOutcome = { kind: 'unknown_refund' } | { kind: 'synced'; settlement: RefundSettlement['kind']; refund: RefundRecord };

/**
 * Re-reads one refund from the PSP by its PSP id and applies that state (applyPspRefundState: a
 * PENDING refund settles, a SUCCEEDED one the PSP reports failed is reversed, FAILED is final).
 * For a refund whose webhook never came and that the PENDING re-check does not look at. A PSP
 * refund without our refund id, or naming a refund we do not have (or have with another PSP
 * refund), is unknown_refund. A PSP that does not answer throws its PspError.
 */
export async function syncRefundWithPsp(deps: PaymentsDeps, pspRefundId: string, cause: string, policy: PspCallPolicy = deps.pspPolicy): Promise<RefundSyncOutcome> {
  const state = await callPsp({ operation: 'refunds.retrieve', policy, logger: deps.logger }, () => deps.psp.retrieveRefund(pspRefundId));
  if (state.refundId === null || state.pspRefundId !== pspRefundId) return { kind: 'unknown_refund' };
  const settlement = await applyPspRefundState(deps, state.refundId, state, cause);
  if (settlement.refund === null || settlement.refund.pspRefundId !== pspRefundId) return { kind: 'unknown_refund' };
  return { kind: 'synced', settlement: settlement.kind, refund: settlement.refund };
}

/** The payment and its orders as read before the PSP was asked (WebhookSnapshot). */
export interface KnownPayment {
  payment: PaymentRecord;
  orders: readonly PaymentOrderRecord[];
}

/**
 * With a webhook and the payment as read before (`known`), a status change is one autocommitted
 * statement (store.changeAlone: the event id, the version-checked update, the orders, the
 * timeline and the outbox); anything else (a moved version, no change to make, an order status
 * it cannot set) writes nothing there and is done in a transaction under the row lock.
 */
export async function syncPaymentWithPsp(deps: PaymentsDeps, paymentId: string, state: PspPaymentState, cause: string, webhook?: PspWebhookEvent, known?: KnownPayment): Promise<SyncOutcome> {
  const apply = async (tx: PaymentsTransaction): Promise<SyncOutcome> => {
    let payment: PaymentRecord | null;
    if (webhook) {
      const claimed = await tx.markWebhookAndLockPayment(webhook.id, webhook.type, paymentId);
      if (!claimed) return { kind: 'unknown_payment' };
      if (!claimed.fresh) return { kind: 'duplicate_webhook' };
      payment = claimed.payment;
    } else {
      payment = await tx.lockPayment(paymentId);
      if (!payment) return { kind: 'unknown_payment' };
    }
    const at = new Date();
    if (webhook) {
      await tx.addTimeline({
        paymentId,
        at,
        source: 'psp',
        type: 'psp.webhook_received',
        message: `${webhook.type} (${webhook.id}); PSP says ${state.pspStatus}`,
        data: { eventId: webhook.id, eventType: webhook.type, pspStatus: state.pspStatus, paymentIntentId: state.paymentIntentId },
      });
    }
    // Registration still in flight, or an intent of an earlier registration round: the
    // registration (or the re-check after it) settles the payment.
    if (payment.status === 'CREATED') return { kind: 'unchanged', payment, reason: 'registration in progress' };
    // After the money was collected, refunds and disputes drive the status; the payment intent
    // stays `succeeded` at the PSP and says nothing about them (DISPUTED → SUCCEEDED is only for
    // a won dispute, never for a late payment_intent webhook).
    if (AFTERSALE_STATUSES.includes(payment.status)) return { kind: 'unchanged', payment, reason: `${payment.status} is settled by refunds and disputes` };
    if (payment.pspPaymentIntentId !== state.paymentIntentId) {
      deps.logger.warn({ paymentId, known: payment.pspPaymentIntentId, reported: state.paymentIntentId }, 'PSP reported on a payment intent that is not the payment\'s current one');
      return { kind: 'unchanged', payment, reason: 'not the current payment intent' };
    }
    const patch: PaymentPatch = {
      nextRecheckAt: PSP_PENDING_STATUSES.includes(state.status) ? new Date(at.getTime() + recheckDelayMs(deps.recheck, payment.createdAt, at.getTime())) : null,
    };
    if (state.status === 'FAILED') {
      patch.failureCode = state.failureCode;
      patch.failureMessage = state.failureMessage;
    }
    const result = await transitionPayment(tx, payment, { to: state.status, patch, cause, chargeId: state.chargeId, at });
    if (result.changed) return { kind: 'changed', payment: result.payment };
    if (result.decision.kind === 'illegal') return { kind: 'illegal', payment, reason: result.decision.reason };
    return { kind: 'unchanged', payment, reason: 'reason' in result.decision ? result.decision.reason : 'no change' };
  };

  let outcome: SyncOutcome | undefined;
  if (webhook && known && known.payment.id === paymentId) {
    try {
      outcome = await deps.store.changeAlone(known.payment, apply, { orders: known.orders, webhook: { eventId: webhook.id, type: webhook.type } });
    } catch (error) {
      if (error instanceof WebhookAlreadyRecordedError) outcome = { kind: 'duplicate_webhook' };
      else if (!(error instanceof StaleVersionError) && !(error instanceof NotDeferrableError)) throw error;
    }
  }
  outcome ??= await deps.store.transaction(apply);

  if (outcome.kind === 'changed') {
    deps.onOutboxWritten();
    if (outcome.payment.status === 'FAILED') await withdrawCheckoutPage(deps, outcome.payment);
  } else if (outcome.kind === 'illegal') {
    deps.logger.error({ paymentId, pspStatus: state.pspStatus, reason: outcome.reason }, 'PSP state contradicts the payment; nothing written');
  }
  return outcome;
}

/** The PSP key of one round of expiring a payment's checkout session: `cancel:<id>:<round>` or `expire:<id>:<round>`. */
export function sessionExpireIdempotencyKey(purpose: 'cancel' | 'expire', paymentId: string, round: number): string {
  return `${purpose}:${paymentId}:${round}`;
}

/**
 * Expires the payment's hosted session at the PSP (which cancels its unpaid intent), outside any
 * transaction; throws the last PspError. Every call takes a new key round, and so does a server
 * error within it: Stripe stores a 5xx under its key and replays it for 24 hours, so a retry
 * with the same key could never get through (a cancelPayment retried after PSP_UNAVAILABLE
 * would fail for a day). Expiring is idempotent at the PSP by nature (a session no longer open
 * is left alone), so a new round never has a second effect. Returns the key last used.
 */
export async function expireCheckoutSessionAtPsp(deps: PaymentsDeps, payment: PaymentRecord, purpose: 'cancel' | 'expire'): Promise<string> {
  const sessionId = payment.pspCheckoutSessionId;
  if (!sessionId) throw new Error(`payment ${payment.id} has no checkout session to expire`);
  let round = await deps.store.bumpExpireRound(payment.id);
  const onAttemptFailed = async (error: PspError) => {
    if (error.answeredWithServerError) round = await deps.store.bumpExpireRound(payment.id);
  };
  await callPsp({ operation: 'checkout.sessions.expire', policy: deps.pspPolicy, logger: deps.logger, onAttemptFailed }, () =>
    deps.psp.expireCheckoutSession(sessionId, sessionExpireIdempotencyKey(purpose, payment.id, round)),
  );
  return sessionExpireIdempotencyKey(purpose, payment.id, round);
}

/**
 * FAILED is final: expire the hosted session so the buyer cannot pay on it again. Best effort;
 * should it fail, a later success is still taken (FAILED → SUCCEEDED, see the transition table).
 */
export async function withdrawCheckoutPage(deps: PaymentsDeps, payment: PaymentRecord): Promise<void> {
  if (!payment.pspCheckoutSessionId) return;
  let message: string;
  let idempotencyKey: string | null = null;
  try {
    idempotencyKey = await expireCheckoutSessionAtPsp(deps, payment, 'expire');
    message = `checkout session ${payment.pspCheckoutSessionId} expired`;
  } catch (error) {
    deps.logger.warn({ paymentId: payment.id, err: error }, 'could not expire the checkout session of a failed payment');
    message = `could not expire checkout session ${payment.pspCheckoutSessionId}: ${(error as Error).message.slice(0, 200)}`;
  }
  await deps.store.addTimeline({ paymentId: payment.id, at: new Date(), source: 'payments', type: 'psp.checkout_session_expire', message, data: { idempotencyKey } });
}

export function assertKnownPayment(payment: PaymentRecord | null, paymentId: string): PaymentRecord {
  if (!payment) throw new DomainError('NOT_FOUND', `no payment ${paymentId}`, { field: ['input', 'paymentId'] });
  return payment;
}
