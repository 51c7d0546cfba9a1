import type Stripe from 'stripe';
import { paymentStateFromStripe, paymentStatusFromStripe, pspErrorFromStripe, webhookEventFromStripe } from './transformers.js';

describe('Stripe → our statuses', () => {
  test.each([
    ['requires_payment_method', false, 'REQUIRES_PAYMENT'],
    ['requires_payment_method', true, 'FAILED'],
    ['requires_confirmation', false, 'REQUIRES_PAYMENT'],
    ['requires_action', false, 'REQUIRES_ACTION'],
    ['processing', false, 'PROCESSING'],
    ['requires_capture', false, 'PROCESSING'],
    ['succeeded', false, 'SUCCEEDED'],
    ['canceled', false, 'CANCELED'],
  ])('%s (error: %s) → %s', (status, error, ours) => {
    expect(paymentStatusFromStripe(status, error)).toBe(ours);
  });

  test('a decline carries the decline code and message', () => {
    const state = paymentStateFromStripe({
      id: 'pi_1',
      status: 'requires_payment_method',
      amount: 2500,
      currency: 'usd',
      metadata: { paymentId: 'pay_1' },
      latest_charge: 'ch_1',
      last_payment_error: { type: 'card_error', code: 'card_declined', decline_code: 'insufficient_funds', message: 'Your card has insufficient funds.' },
    } as unknown as Stripe.PaymentIntent);
    expect(state).toMatchObject({ status: 'FAILED', paymentId: 'pay_1', amountMinor: 2500n, currency: 'USD', failureCode: 'insufficient_funds', failureMessage: 'Your card has insufficient funds.', chargeId: 'ch_1' });
  });

  test('the payment intent of an event: the object itself or its payment_intent field', () => {
    const event = (object: object) => ({ id: 'evt_1', type: 't', created: 1, data: { object } }) as unknown as Stripe.Event;
    expect(webhookEventFromStripe(event({ object: 'payment_intent', id: 'pi_1' })).paymentIntentId).toBe('pi_1');
    expect(webhookEventFromStripe(event({ object: 'charge', id: 'ch_1', payment_intent: 'pi_2' })).paymentIntentId).toBe('pi_2');
    expect(webhookEventFromStripe(event({ object: 'payout', id: 'po_1' })).paymentIntentId).toBeNull();
  });

  test('SDK errors are classified for the executor', () => {
    expect(pspErrorFromStripe({ type: 'StripeConnectionError', message: 'Request aborted due to timeout being reached (1500ms)' }).kind).toBe('timeout');
    expect(pspErrorFromStripe({ type: 'StripeAPIError', statusCode: 500, message: 'x' }).answeredWithServerError).toBe(true);
    expect(pspErrorFromStripe({ type: 'StripeInvalidRequestError', statusCode: 400, message: 'x' }).retryable).toBe(false);
    expect(pspErrorFromStripe({ type: 'StripeIdempotencyError', statusCode: 409, message: 'x' }).kind).toBe('in_use');
  });
});
