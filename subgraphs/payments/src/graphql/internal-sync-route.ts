// POST /internal/payments/sync-psp {"paymentIntentId": "pi_..."}: re-reads one payment intent
// from the PSP and settles its payment through the same path as webhooks and the re-check
// (syncPaymentWithPsp), so the ledger and wallet follow through payment.succeeded. Used by the
// ledger's reconciliation to replay a payment whose webhook never arrived. Signed system caller
// only (x-clearhouse-caller/-signature); idempotent (a payment already in the PSP's state is
// "unchanged").
//   200 {"outcome":"changed"|"unchanged"|"illegal"|"unknown_payment","paymentId","status","reason"?}
//   404 {"error"} the PSP does not know the intent, or it is not a Clearhouse payment
//   503 {"error"} the PSP did not answer (retry later)
// POST /internal/payments/sync-psp {"pspRefundId": "re_..."}: the same for one refund
// (syncRefundWithPsp), e.g. one that failed at the PSP after it succeeded and whose refund.failed
// webhook never arrived: it is reversed and the ledger follows through refund.reversed.
//   200 {"outcome":"succeeded"|"failed"|"reversed"|"pending"|"unchanged","refundId","status",
//        "reversed": the refund had succeeded and is FAILED now (refund.reversed was emitted)}
//   404 {"error"} the PSP does not know the refund, or it is not a Clearhouse refund
//   503 {"error"} the PSP did not answer (retry later)
// Exactly one of the two ids; anything else is 400 and writes nothing.
import { sendJson, verifyCaller, type RawRoute } from '@clearhouse/shared';
import type { ServerResponse } from 'node:http';
import type { PaymentsDeps } from '../application/deps.js';
import { retrievePspState, syncPaymentWithPsp, syncRefundWithPsp } from '../application/sync-with-psp.js';
import { PspError } from '../psp/port.js';

const PAYMENT_INTENT_ID_PATTERN = /^pi_[A-Za-z0-9_]{1,200}$/;
const PSP_REFUND_ID_PATTERN = /^(re|pyr)_[A-Za-z0-9_]{1,200}$/;
const BAD_BODY = 'body must be JSON with exactly one of {"paymentIntentId": "pi_..."} or {"pspRefundId": "re_..."}';

type SyncTarget = { kind: 'payment'; paymentIntentId: string } | { kind: 'refund'; pspRefundId: string };

function parseTarget(body: Buffer): SyncTarget | null {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return null;
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) return null;
  const { paymentIntentId, pspRefundId } = parsed as { paymentIntentId?: unknown; pspRefundId?: unknown };
  if (paymentIntentId !== undefined && pspRefundId !== undefined) return null;
  if (typeof paymentIntentId === 'string' && PAYMENT_INTENT_ID_PATTERN.test(paymentIntentId)) return { kind: 'payment', paymentIntentId };
  if (typeof pspRefundId === 'string' && PSP_REFUND_ID_PATTERN.test(pspRefundId)) return { kind: 'refund', pspRefundId };
  return null;
}

async function syncRefund(deps: PaymentsDeps, response: ServerResponse, pspRefundId: string, cause: string): Promise<void> {
  let outcome;
  try {
    outcome = await syncRefundWithPsp(deps, pspRefundId, cause);
  } catch (error) {
    if (!(error instanceof PspError)) throw error;
    if (error.kind === 'rejected') sendJson(response, 404, { error: 'the PSP does not know this refund' });
    else sendJson(response, 503, { error: 'psp unavailable, retry later' });
    return;
  }
  if (outcome.kind === 'unknown_refund') {
    sendJson(response, 404, { error: 'not a Clearhouse refund' });
    return;
  }
  const { refund } = outcome;
  sendJson(response, 200, { outcome: outcome.settlement, refundId: refund.id, status: refund.status, reversed: refund.status === 'FAILED' && refund.succeededAt !== null });
}

export function internalSyncRoute(deps: PaymentsDeps, signingSecret: string): RawRoute {
  return {
    method: 'POST',
    path: '/internal/payments/sync-psp',
    async handle(request, response, body) {
      const caller = verifyCaller(request, body, signingSecret);
      if (!caller || caller.role !== 'system') {
        sendJson(response, 401, { error: 'signed system caller required' });
        return;
      }
      const target = parseTarget(body);
      if (target === null) {
        sendJson(response, 400, { error: BAD_BODY });
        return;
      }
      if (target.kind === 'refund') {
        await syncRefund(deps, response, target.pspRefundId, `reconciliation re-sync (${caller.keyId})`);
        return;
      }
      const { paymentIntentId } = target;
      let state;
      try {
        state = await retrievePspState(deps, paymentIntentId);
      } catch (error) {
        if (error instanceof PspError && error.kind === 'rejected') {
          sendJson(response, 404, { error: 'the PSP does not know this payment intent' });
          return;
        }
        sendJson(response, 503, { error: 'psp unavailable, retry later' });
        return;
      }
      if (!state.paymentId) {
        sendJson(response, 404, { error: 'not a Clearhouse payment' });
        return;
      }
      const outcome = await syncPaymentWithPsp(deps, state.paymentId, state, `reconciliation replay (${caller.keyId})`);
      if (outcome.kind === 'duplicate_webhook' || outcome.kind === 'unknown_payment') {
        sendJson(response, 200, { outcome: 'unknown_payment', paymentId: state.paymentId, status: null });
        return;
      }
      sendJson(response, 200, {
        outcome: outcome.kind,
        paymentId: outcome.payment.id,
        status: outcome.payment.status,
        ...('reason' in outcome ? { reason: outcome.reason } : {}),
      });
    },
  };
}
