// POST /internal/payments/sync-psp {"paymentIntentId": "pi_..."}: re-reads one payment intent
// from the PSP and settles its payment through the same path as webhooks and the re-check
// (syncPaymentWithPsp), so the ledger and wallet follow through payment.succeeded. Used by the
// ledger's reconciliation to replay a payment whose webhook never arrived. Signed system caller
// only (x-clearhouse-caller/-signature); idempotent (a payment already in the PSP's state is
// "unchanged").
//   200 {"outcome":"changed"|"unchanged"|"illegal"|"unknown_payment","paymentId","status","reason"?}
//   404 {"error"} the PSP does not know the intent, or it is not a Clearhouse payment
//   503 {"error"} the PSP did not answer (retry later)
import { sendJson, verifyCaller, type RawRoute } from '@clearhouse/shared';
import type { PaymentsDeps } from '../application/deps.js';
import { retrievePspState, syncPaymentWithPsp } from '../application/sync-with-psp.js';
import { PspError } from '../psp/port.js';

const PAYMENT_INTENT_ID_PATTERN = /^pi_[A-Za-z0-9_]{1,200}$/;

export function internalSyncRoute(deps: PaymentsDeps, signingSecret: string): RawRoute {
  return {
    method: 'POST',
    path: '/internal/payments/sync-psp',
    async handle(request, response, body) {
      const caller = verifyCaller(request.headers, signingSecret);
      if (!caller || caller.role !== 'system') {
        sendJson(response, 401, { error: 'signed system caller required' });
        return;
      }
      let paymentIntentId: unknown;
      try {
        paymentIntentId = (JSON.parse(body.toString('utf8')) as { paymentIntentId?: unknown }).paymentIntentId;
      } catch {
        paymentIntentId = undefined;
      }
      if (typeof paymentIntentId !== 'string' || !PAYMENT_INTENT_ID_PATTERN.test(paymentIntentId)) {
        sendJson(response, 400, { error: 'body must be JSON {"paymentIntentId": "pi_..."}' });
        return;
      }
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
