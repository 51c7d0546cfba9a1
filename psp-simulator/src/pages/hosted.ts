// The hosted payment page: /pay/<cs_... or pi_...> shows a card form and takes its POST;
// /pay/<id>/3ds is the 3-D Secure challenge. After a payment the buyer is sent (303) to the
// session's success_url or the payment intent's return_url, or sees a result page.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { formatMajor } from '../core/money.js';
import type { Sim } from '../core/sim.js';
import type { CheckoutSession, PaymentIntent } from '../core/types.js';
import { parseForm, readBody, redirect, sendHtml } from '../http/io.js';
import { cardFromNumber } from '../resources/cards.js';
import { attemptPayment, completeAuthentication, confirmableStatuses } from '../resources/paymentFlow.js';
import { challengePage, paymentFormPage, resultPage } from './html.js';
import { validateCardForm } from './cardForm.js';

interface Target {
  id: string;
  paymentIntent: PaymentIntent;
  session?: CheckoutSession;
}

function resolveTarget(sim: Sim, id: string): Target | undefined {
  if (id.startsWith('cs_')) {
    const session = sim.store.get<CheckoutSession>(id, 'checkout.session');
    const paymentIntent = session ? sim.store.get<PaymentIntent>(session.payment_intent, 'payment_intent') : undefined;
    return session && paymentIntent ? { id, session, paymentIntent } : undefined;
  }
  const paymentIntent = sim.store.get<PaymentIntent>(id, 'payment_intent');
  return paymentIntent ? { id, paymentIntent } : undefined;
}

function amountText(paymentIntent: PaymentIntent): string {
  return `${formatMajor(paymentIntent.amount, paymentIntent.currency)} ${paymentIntent.currency.toUpperCase()}`;
}

function formPage(target: Target, error?: string, values?: { expMonth?: string; expYear?: string }): string {
  const { paymentIntent, session } = target;
  const items = (session?.__sim.lineItems ?? []).map((item) => ({
    name: item.name,
    quantity: item.quantity,
    amountText: formatMajor(item.unitAmount * item.quantity, paymentIntent.currency),
  }));
  return paymentFormPage({ action: `/pay/${target.id}`, amountText: amountText(paymentIntent), items, ...(error ? { error } : {}), ...(values ? { values } : {}) });
}

/** A page for a payment that cannot take a card any more, or undefined when it can. */
function closedPage(target: Target): string | undefined {
  const { paymentIntent, session } = target;
  const amount = amountText(paymentIntent);
  if (session?.status === 'expired') return resultPage('expired', amount, 'Start a new checkout from the shop to pay.');
  switch (paymentIntent.status) {
    case 'succeeded':
      return resultPage('succeeded', amount, 'This payment is complete. You can close this page.');
    case 'requires_capture':
      return resultPage('authorized', amount, 'Your card was authorized. You will be charged when the order ships.');
    case 'processing':
      return resultPage('processing', amount, 'We will let the shop know as soon as it completes.');
    case 'canceled':
      return resultPage('canceled', amount, 'This payment was canceled.');
    default:
      return undefined;
  }
}

function finishedLocation(target: Target): string | undefined {
  const { paymentIntent, session } = target;
  if (session?.success_url) return session.success_url.replace('{CHECKOUT_SESSION_ID}', session.id);
  const returnUrl = paymentIntent.__sim.returnUrl;
  if (!returnUrl) return undefined;
  const url = new URL(returnUrl);
  url.searchParams.set('payment_intent', paymentIntent.id);
  url.searchParams.set('payment_intent_client_secret', paymentIntent.client_secret);
  url.searchParams.set('redirect_status', paymentIntent.status === 'requires_payment_method' ? 'failed' : 'succeeded');
  return url.toString();
}

function showOutcome(sim: Sim, target: Target, response: ServerResponse): void {
  const paymentIntent = sim.store.get<PaymentIntent>(target.paymentIntent.id, 'payment_intent') ?? target.paymentIntent;
  const current = { ...target, paymentIntent };
  if (paymentIntent.status === 'requires_action') return redirect(response, `/pay/${target.id}/3ds`);
  if (paymentIntent.status === 'requires_payment_method') {
    const location = target.session ? undefined : finishedLocation(current);
    if (location) return redirect(response, location);
    return sendHtml(response, 402, formPage(current, `${paymentIntent.last_payment_error?.message ?? 'Your card was declined.'} Please try another card.`));
  }
  const location = finishedLocation(current);
  if (location) return redirect(response, location);
  sendHtml(response, 200, closedPage(current) ?? formPage(current));
}

export async function handlePayPage(sim: Sim, request: IncomingMessage, response: ServerResponse, path: string): Promise<void> {
  const match = /^\/pay\/([A-Za-z0-9_]+)(\/3ds)?$/.exec(path);
  const target = match?.[1] ? resolveTarget(sim, match[1]) : undefined;
  if (!match || !target) return sendHtml(response, 404, resultPage('not_found', '', 'Check the link you were given.'));
  const isChallenge = match[2] !== undefined;
  if (request.method === 'GET') return isChallenge ? showChallenge(target, response) : showForm(target, response);
  if (request.method !== 'POST') return sendHtml(response, 405, resultPage('not_found', '', 'Method not allowed.'));
  const form = parseForm(await readBody(request));
  if (isChallenge) return answerChallenge(sim, target, form, response);
  return payWithCard(sim, target, form, response);
}

function showForm(target: Target, response: ServerResponse): void {
  if (target.paymentIntent.status === 'requires_action') return redirect(response, `/pay/${target.id}/3ds`);
  const closed = closedPage(target);
  if (closed) return sendHtml(response, 200, closed);
  const lastError = target.paymentIntent.last_payment_error?.message;
  sendHtml(response, 200, formPage(target, lastError));
}

function showChallenge(target: Target, response: ServerResponse): void {
  if (target.paymentIntent.status !== 'requires_action') return redirect(response, `/pay/${target.id}`);
  sendHtml(response, 200, challengePage(`/pay/${target.id}/3ds`, amountText(target.paymentIntent)));
}

async function payWithCard(sim: Sim, target: Target, form: Record<string, unknown>, response: ServerResponse): Promise<void> {
  const closed = closedPage(target);
  if (closed || !confirmableStatuses.includes(target.paymentIntent.status)) {
    return sendHtml(response, 409, closed ?? formPage(target, 'This payment cannot take a card right now.'));
  }
  const values = { expMonth: String(form.exp_month ?? ''), expYear: String(form.exp_year ?? '') };
  const checked = validateCardForm(form, new Date(sim.clock.nowMs()));
  if (!checked.ok) return sendHtml(response, 400, formPage(target, checked.message, values));
  attemptPayment(sim, target.paymentIntent, cardFromNumber(checked.card.number, checked.card.expMonth, checked.card.expYear));
  await sim.writer.flush();
  showOutcome(sim, target, response);
}

async function answerChallenge(sim: Sim, target: Target, form: Record<string, unknown>, response: ServerResponse): Promise<void> {
  if (target.paymentIntent.status !== 'requires_action') return redirect(response, `/pay/${target.id}`);
  // Only the challenge's own two answers count: anything else is a malformed post, not a denial.
  if (form.approve !== '1' && form.approve !== '0') {
    return sendHtml(response, 400, challengePage(`/pay/${target.id}/3ds`, amountText(target.paymentIntent)));
  }
  completeAuthentication(sim, target.paymentIntent, form.approve === '1');
  await sim.writer.flush();
  showOutcome(sim, target, response);
}
