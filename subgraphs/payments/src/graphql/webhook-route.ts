// POST /webhooks/stripe: the PSP's signed webhooks, raw body (the signature covers the bytes).
import { sendJson, type RawRoute } from '@clearhouse/shared';
import type { PaymentsDeps } from '../application/deps.js';
import { handleStripeWebhook } from '../application/webhooks.js';

export function stripeWebhookRoute(deps: PaymentsDeps): RawRoute {
  return {
    method: 'POST',
    path: '/webhooks/stripe',
    async handle(request, response, body) {
      const signature = request.headers['stripe-signature'];
      const answer = await handleStripeWebhook(deps, body, Array.isArray(signature) ? signature[0] : signature);
      sendJson(response, answer.status, answer.body);
    },
  };
}
