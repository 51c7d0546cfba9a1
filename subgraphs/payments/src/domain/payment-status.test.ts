import { PAYMENT_STATUSES } from '@clearhouse/shared';
import { canTransition, decideRefundReversal, decideTransition, keepsCheckoutUrl, orderStatusFor, UNPAID_STATUSES } from './payment-status.js';

describe('the payment transition table', () => {
  test('the happy path and the 3-D Secure path are legal', () => {
    expect(canTransition('CREATED', 'REQUIRES_PAYMENT')).toBe(true);
    expect(canTransition('REQUIRES_PAYMENT', 'REQUIRES_ACTION')).toBe(true);
    expect(canTransition('REQUIRES_ACTION', 'SUCCEEDED')).toBe(true);
    expect(canTransition('REQUIRES_PAYMENT', 'PROCESSING')).toBe(true);
    expect(canTransition('PROCESSING', 'SUCCEEDED')).toBe(true);
    expect(canTransition('SUCCEEDED', 'PARTIALLY_REFUNDED')).toBe(true);
    expect(canTransition('PARTIALLY_REFUNDED', 'REFUNDED')).toBe(true);
  });

  test('a payment never moves backwards: late events are no-ops, not errors', () => {
    expect(decideTransition('SUCCEEDED', 'REQUIRES_ACTION').kind).toBe('noop');
    expect(decideTransition('SUCCEEDED', 'PROCESSING').kind).toBe('noop');
    expect(decideTransition('REQUIRES_ACTION', 'REQUIRES_PAYMENT').kind).toBe('noop');
    expect(decideTransition('FAILED', 'REQUIRES_PAYMENT').kind).toBe('noop');
    expect(decideTransition('SUCCEEDED', 'SUCCEEDED').kind).toBe('noop');
  });

  test('contradictions between final states are illegal', () => {
    expect(decideTransition('SUCCEEDED', 'FAILED').kind).toBe('illegal');
    expect(decideTransition('SUCCEEDED', 'CANCELED').kind).toBe('illegal');
    expect(decideTransition('CANCELED', 'SUCCEEDED').kind).toBe('illegal');
    expect(decideTransition('REFUNDED', 'SUCCEEDED').kind).toBe('noop');
  });

  test('a failed payment: its intent being canceled later is expected; a late success is taken', () => {
    expect(decideTransition('FAILED', 'CANCELED').kind).toBe('noop');
    expect(decideTransition('FAILED', 'SUCCEEDED').kind).toBe('apply');
  });

  test('exhaustive: every pair is decided, and apply only where the table allows', () => {
    for (const from of PAYMENT_STATUSES) {
      for (const to of PAYMENT_STATUSES) {
        const decision = decideTransition(from, to);
        expect(['apply', 'noop', 'illegal']).toContain(decision.kind);
        expect(decision.kind === 'apply').toBe(canTransition(from, to));
        if (from === to) expect(decision.kind).toBe('noop');
      }
    }
  });

  test('cancel is possible exactly from the unpaid states', () => {
    for (const from of PAYMENT_STATUSES) expect(canTransition(from, 'CANCELED')).toBe(UNPAID_STATUSES.includes(from));
  });

  test('orders follow the payment; the checkout URL disappears once final', () => {
    expect(orderStatusFor('SUCCEEDED')).toBe('SUCCEEDED');
    expect(orderStatusFor('FAILED')).toBe('FAILED');
    expect(orderStatusFor('CANCELED')).toBe('CANCELED');
    expect(orderStatusFor('REFUNDED')).toBeNull();
    expect(keepsCheckoutUrl('REQUIRES_ACTION')).toBe(true);
    for (const final of ['SUCCEEDED', 'FAILED', 'CANCELED'] as const) expect(keepsCheckoutUrl(final)).toBe(false);
  });
});

describe('a refund that failed after it succeeded moves the payment back (its own table)', () => {
  test('REFUNDED → PARTIALLY_REFUNDED | SUCCEEDED and PARTIALLY_REFUNDED → SUCCEEDED, nothing else', () => {
    expect(decideRefundReversal('REFUNDED', 'PARTIALLY_REFUNDED').kind).toBe('apply');
    expect(decideRefundReversal('REFUNDED', 'SUCCEEDED').kind).toBe('apply');
    expect(decideRefundReversal('PARTIALLY_REFUNDED', 'SUCCEEDED').kind).toBe('apply');
    expect(decideRefundReversal('PARTIALLY_REFUNDED', 'PARTIALLY_REFUNDED').kind).toBe('noop');
    for (const from of PAYMENT_STATUSES) {
      for (const to of PAYMENT_STATUSES) {
        const backward = (from === 'REFUNDED' && (to === 'PARTIALLY_REFUNDED' || to === 'SUCCEEDED')) || (from === 'PARTIALLY_REFUNDED' && to === 'SUCCEEDED');
        expect(decideRefundReversal(from, to).kind).toBe(backward ? 'apply' : from === to ? 'noop' : 'illegal');
      }
    }
  });

  test('the ordinary table still ignores a late event that would move a refunded payment back', () => {
    expect(decideTransition('REFUNDED', 'PARTIALLY_REFUNDED').kind).toBe('noop');
    expect(decideTransition('PARTIALLY_REFUNDED', 'SUCCEEDED').kind).toBe('noop');
  });
});
