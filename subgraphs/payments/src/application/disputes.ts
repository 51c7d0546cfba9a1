// Chargebacks. `charge.dispute.created` / `charge.dispute.closed` webhooks only say "look
// again": the dispute is re-read from the PSP and applied in one transaction each.
//   opened: payment → DISPUTED (transition table); the disputed amount is split over the orders
//           (planDisputeHolds: by what each order still holds for the buyer, pending first) and
//           the PSP's dispute fee is borne per DISPUTE_FEE_BORNE_BY → dispute.opened@1.
//   won:    the holds go back to the sellers (planDisputeReturn) → dispute.won@1; the payment
//           returns to the status the dispute interrupted (Dispute.statusBefore).
//   lost:   DISPUTE_LOSS_BORNE_BY=seller: the holds pay for it (orders empty); =platform: the
//           holds go back to the sellers → dispute.lost@1. The payment stays DISPUTED: the money
//           went back to the buyer through the bank, not through a refund.
// The Dispute row (unique PSP dispute id) makes each step happen at most once.
import { randomUUID } from 'node:crypto';
import { newEvent, serializeEventPayload, type DisputeLostV1, type DisputeOpenedV1, type DisputeWonV1 } from '@clearhouse/shared';
import { planDisputeHolds, planDisputeReturn } from '../domain/aftersale.js';
import { PSP_PENDING_STATUSES, type PaymentStatus } from '../domain/payment-status.js';
import type { PspDisputeState, PspWebhookEvent } from '../psp/port.js';
import type { PaymentsDeps } from './deps.js';
import type { DisputeRecord, PaymentRecord, PaymentsTransaction } from './ports.js';
import { retrievePspState, syncPaymentWithPsp } from './sync-with-psp.js';
import { transitionPayment } from './transition.js';

/** A fully refunded charge has nothing left to dispute (the PSP disputes captured − refunded). */
const DISPUTABLE_STATUSES = ['SUCCEEDED', 'PARTIALLY_REFUNDED'] as const;
/**
 * Statuses in which we have not (yet) seen the money collected. A chargeback proves the PSP
 * collected it: the payment intent's success webhook is late, reordered or lost, so the PSP's
 * current state of the intent is applied before the dispute (ARCHITECTURE: the PSP's current
 * state is authoritative), instead of the dispute being dropped as "not disputable".
 */
const NOT_YET_PAID_STATUSES: readonly PaymentStatus[] = [...PSP_PENDING_STATUSES, 'FAILED'];

async function openDispute(deps: PaymentsDeps, tx: PaymentsTransaction, payment: PaymentRecord, state: PspDisputeState, at: Date): Promise<DisputeRecord | null> {
  const existing = await tx.findDisputeByPspId(state.pspDisputeId);
  if (existing) return existing;
  if (!(DISPUTABLE_STATUSES as readonly string[]).includes(payment.status)) {
    deps.logger.error({ paymentId: payment.id, status: payment.status, pspDisputeId: state.pspDisputeId }, 'dispute on a payment that is not disputable; nothing written');
    return null;
  }
  const orders = await tx.ordersOf(payment.id);
  const holds = planDisputeHolds(orders, state.amountMinor, state.feeMinor, deps.aftersale.disputeFeeBorneBy);
  const dispute: DisputeRecord = {
    id: `dp_${randomUUID()}`,
    paymentId: payment.id,
    pspDisputeId: state.pspDisputeId,
    currency: payment.currency,
    amountMinor: state.amountMinor,
    disputeFeeMinor: state.feeMinor,
    feeBorneBy: deps.aftersale.disputeFeeBorneBy,
    lossBorneBy: deps.aftersale.disputeLossBorneBy,
    status: 'OPEN',
    statusBefore: payment.status,
    reason: state.reason,
    orders: holds,
    openedAt: at,
    closedAt: null,
  };
  await tx.insertDispute(dispute);
  for (const hold of holds) {
    const order = orders.find((candidate) => candidate.id === hold.paymentOrderId);
    if (!order) throw new Error(`dispute hold for a missing order ${hold.paymentOrderId}`);
    if (hold.pendingMinor > 0n) await tx.updateOrder(order.id, { pendingHeldMinor: order.pendingHeldMinor - hold.pendingMinor });
  }
  const result = await transitionPayment(tx, payment, { to: 'DISPUTED', cause: `dispute ${state.pspDisputeId} opened`, at });
  if (!result.changed) throw new Error(`payment ${payment.id}: cannot become DISPUTED from ${payment.status}`);
  const payload: DisputeOpenedV1 = {
    disputeId: dispute.id,
    paymentId: payment.id,
    pspDisputeId: state.pspDisputeId,
    currency: payment.currency,
    amountMinor: state.amountMinor,
    disputeFeeMinor: state.feeMinor,
    disputeFeeBorneBy: dispute.feeBorneBy,
    orders: holds,
    openedAt: at,
  };
  await tx.writeEvent(newEvent('dispute.opened', 1, payment.id, serializeEventPayload('dispute.opened@1', payload)));
  await tx.addTimeline({
    paymentId: payment.id,
    at,
    source: 'payments',
    type: 'dispute.opened',
    message: `chargeback ${state.pspDisputeId} (${state.reason ?? 'no reason'}): ${state.amountMinor} ${payment.currency} minor units withheld from the sellers; fee ${state.feeMinor} borne by ${dispute.feeBorneBy}`,
    data: { disputeId: dispute.id, pspDisputeId: state.pspDisputeId, amountMinor: state.amountMinor.toString(), disputeFeeMinor: state.feeMinor.toString() },
  });
  return dispute;
}

async function closeDispute(deps: PaymentsDeps, tx: PaymentsTransaction, payment: PaymentRecord, dispute: DisputeRecord, outcome: 'won' | 'lost', at: Date): Promise<void> {
  const orders = await tx.ordersOf(payment.id);
  const released = new Set(orders.filter((order) => order.releasedAt !== null).map((order) => order.id));
  const returned = outcome === 'won' || dispute.lossBorneBy === 'platform' ? planDisputeReturn(dispute.orders, released) : [];
  for (const split of returned) {
    const order = orders.find((candidate) => candidate.id === split.paymentOrderId);
    if (order && split.pendingMinor > 0n) await tx.updateOrder(order.id, { pendingHeldMinor: order.pendingHeldMinor + split.pendingMinor });
  }
  await tx.updateDispute(dispute.id, { status: outcome === 'won' ? 'WON' : 'LOST', closedAt: at });
  if (outcome === 'won') {
    const payload: DisputeWonV1 = { disputeId: dispute.id, paymentId: payment.id, currency: dispute.currency, amountMinor: dispute.amountMinor, orders: returned, wonAt: at };
    await tx.writeEvent(newEvent('dispute.won', 1, payment.id, serializeEventPayload('dispute.won@1', payload)));
    const result = await transitionPayment(tx, payment, { to: dispute.statusBefore, cause: `dispute ${dispute.pspDisputeId} won`, at });
    if (!result.changed) deps.logger.error({ paymentId: payment.id, status: payment.status, statusBefore: dispute.statusBefore }, 'won dispute: payment did not return to its earlier status');
  } else {
    const payload: DisputeLostV1 = { disputeId: dispute.id, paymentId: payment.id, currency: dispute.currency, amountMinor: dispute.amountMinor, lossBorneBy: dispute.lossBorneBy, orders: returned, lostAt: at };
    await tx.writeEvent(newEvent('dispute.lost', 1, payment.id, serializeEventPayload('dispute.lost@1', payload)));
  }
  await tx.addTimeline({
    paymentId: payment.id,
    at,
    source: 'payments',
    type: `dispute.${outcome}`,
    message: outcome === 'won' ? `chargeback ${dispute.pspDisputeId} won: the withheld amounts go back to the sellers` : `chargeback ${dispute.pspDisputeId} lost; the loss is borne by the ${dispute.lossBorneBy}`,
    data: { disputeId: dispute.id, pspDisputeId: dispute.pspDisputeId, outcome },
  });
}

/** Applies the PSP's current state of a dispute (opens it if new, closes it if closed). */
export async function applyPspDisputeState(deps: PaymentsDeps, state: PspDisputeState, webhook: PspWebhookEvent | null): Promise<string> {
  if (!state.paymentIntentId) return 'ignored';
  const known = await deps.store.findPaymentByIntent(state.paymentIntentId);
  if (!known) return 'unknown_payment';
  if (NOT_YET_PAID_STATUSES.includes(known.status)) {
    // Outside any transaction (a PSP call); a failure throws, so the webhook is answered 503 and delivered again.
    const intent = await retrievePspState(deps, state.paymentIntentId);
    await syncPaymentWithPsp(deps, known.id, intent, `dispute ${state.pspDisputeId} found the payment ${known.status}`);
  }
  const outcome = await deps.store.transaction(async (tx) => {
    if (webhook && !(await tx.markWebhookProcessed(webhook.id, webhook.type))) return 'duplicate_webhook';
    const payment = await tx.lockPayment(known.id);
    if (!payment) return 'unknown_payment';
    const at = new Date();
    if (webhook) {
      await tx.addTimeline({ paymentId: payment.id, at, source: 'psp', type: 'psp.webhook_received', message: `${webhook.type} (${webhook.id}); PSP says dispute ${state.pspDisputeId} is ${state.pspStatus}`, data: { eventId: webhook.id, eventType: webhook.type, pspDisputeId: state.pspDisputeId } });
    }
    const dispute = await openDispute(deps, tx, payment, state, at);
    if (!dispute) return 'not_disputable';
    if (dispute.status !== 'OPEN' || state.status === 'open') return dispute.status === 'OPEN' ? 'opened' : 'unchanged';
    const current = await tx.lockPayment(payment.id);
    if (!current) return 'unknown_payment';
    await closeDispute(deps, tx, current, dispute, state.status, at);
    return state.status;
  });
  if (outcome !== 'duplicate_webhook' && outcome !== 'unknown_payment' && outcome !== 'unchanged') deps.onOutboxWritten();
  return outcome;
}

export async function handleDisputeWebhook(deps: PaymentsDeps, event: PspWebhookEvent): Promise<string> {
  if (event.objectType !== 'dispute' || !event.objectId) return 'ignored';
  const state = await deps.psp.retrieveDispute(event.objectId);
  return applyPspDisputeState(deps, state, event);
}
