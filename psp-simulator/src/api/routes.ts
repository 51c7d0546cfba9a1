// The Stripe API subset: method + path pattern → handler.
import type { ApiHandler } from './types.js';
import * as paymentIntents from '../resources/paymentIntents.js';
import * as sessions from '../resources/checkoutSessions.js';
import * as refunds from '../resources/refunds.js';
import * as payouts from '../resources/payouts.js';
import * as transfers from '../resources/transfers.js';
import * as disputes from '../resources/disputes.js';
import * as events from '../resources/events.js';
import { listBalanceTransactions, retrieveBalance, retrieveBalanceTransaction } from '../resources/balanceTransactions.js';

export interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  handler: ApiHandler;
}

const id = '(?<id>[A-Za-z0-9_]+)';

function route(method: Route['method'], path: string, handler: ApiHandler): Route {
  return { method, pattern: new RegExp(`^${path.replace(':id', id)}$`), handler };
}

export const routes: Route[] = [
  route('POST', '/v1/payment_intents', paymentIntents.createPaymentIntent),
  route('GET', '/v1/payment_intents', paymentIntents.listPaymentIntents),
  route('GET', '/v1/payment_intents/:id', paymentIntents.retrievePaymentIntent),
  route('POST', '/v1/payment_intents/:id', paymentIntents.updatePaymentIntent),
  route('POST', '/v1/payment_intents/:id/confirm', paymentIntents.confirmPaymentIntent),
  route('POST', '/v1/payment_intents/:id/capture', paymentIntents.capturePaymentIntent),
  route('POST', '/v1/payment_intents/:id/cancel', paymentIntents.cancelPaymentIntentCall),
  route('GET', '/v1/charges', paymentIntents.listCharges),
  route('GET', '/v1/charges/:id', paymentIntents.retrieveCharge),
  route('POST', '/v1/checkout/sessions', sessions.createCheckoutSession),
  route('GET', '/v1/checkout/sessions', sessions.listCheckoutSessions),
  route('GET', '/v1/checkout/sessions/:id', sessions.retrieveCheckoutSession),
  route('POST', '/v1/checkout/sessions/:id/expire', sessions.expireCheckoutSession),
  route('POST', '/v1/refunds', refunds.createRefund),
  route('GET', '/v1/refunds', refunds.listRefunds),
  route('GET', '/v1/refunds/:id', refunds.retrieveRefund),
  route('POST', '/v1/payouts', payouts.createPayout),
  route('GET', '/v1/payouts', payouts.listPayouts),
  route('GET', '/v1/payouts/:id', payouts.retrievePayout),
  route('POST', '/v1/transfers', transfers.createTransfer),
  route('GET', '/v1/transfers', transfers.listTransfers),
  route('GET', '/v1/transfers/:id', transfers.retrieveTransfer),
  route('GET', '/v1/disputes', disputes.listDisputes),
  route('GET', '/v1/disputes/:id', disputes.retrieveDispute),
  route('POST', '/v1/disputes/:id/close', disputes.acceptDispute),
  route('GET', '/v1/events', events.listEvents),
  route('GET', '/v1/events/:id', events.retrieveEvent),
  route('GET', '/v1/balance', ({ sim }) => retrieveBalance(sim)),
  route('GET', '/v1/balance_transactions', ({ sim, params }) => listBalanceTransactions(sim, params)),
  route('GET', '/v1/balance_transactions/:id', ({ sim, pathParams }) => retrieveBalanceTransaction(sim, pathParams.id ?? '')),
];

export function matchRoute(method: string, path: string): { route: Route; pathParams: Record<string, string> } | 'method_not_allowed' | undefined {
  let pathMatched = false;
  for (const candidate of routes) {
    const match = candidate.pattern.exec(path);
    if (!match) continue;
    pathMatched = true;
    if (candidate.method === method) return { route: candidate, pathParams: { ...match.groups } };
  }
  return pathMatched ? 'method_not_allowed' : undefined;
}
