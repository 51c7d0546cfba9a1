// Keeps a Checkout Session in step with its payment intent (the session completes when the
// payment succeeds or is authorized; an async payment settles it later).
import type { Sim } from '../core/sim.js';
import type { CheckoutSession, PaymentIntent } from '../core/types.js';

export function syncCheckoutSession(sim: Sim, paymentIntent: PaymentIntent): void {
  const sessionId = paymentIntent.__sim.checkoutSessionId;
  if (!sessionId) return;
  const session = sim.store.get<CheckoutSession>(sessionId, 'checkout.session');
  if (!session) return;
  const paid = paymentIntent.status === 'succeeded';
  if (session.status === 'open' && ['succeeded', 'requires_capture', 'processing'].includes(paymentIntent.status)) {
    const completed: CheckoutSession = { ...session, status: 'complete', payment_status: paid ? 'paid' : 'unpaid' };
    sim.store.save(completed);
    sim.events.emit('checkout.session.completed', completed);
    return;
  }
  if (session.status === 'complete' && session.payment_status === 'unpaid' && paid) {
    const settled: CheckoutSession = { ...session, payment_status: 'paid' };
    sim.store.save(settled);
    if (paymentIntent.capture_method !== 'manual') sim.events.emit('checkout.session.async_payment_succeeded', settled);
  }
}
