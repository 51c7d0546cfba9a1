import { evaluateRisk, type RiskRules } from './risk.js';

const rules: RiskRules = {
  paymentAmountMajorMax: 1_000n,
  buyerPaymentsPerWindowMax: 3,
  buyerVelocityWindowMs: 60_000,
  blockedBuyerIds: new Set(['bad_buyer']),
  blockedSellerIds: new Set(['bad_seller']),
};
const subject = { buyerId: 'b', sellerIds: ['s'], currency: 'USD', totalMinor: 100_000n, buyerRecentPaymentCount: 0 };

describe('evaluateRisk', () => {
  test('passes an ordinary payment, up to the limit inclusive', () => {
    expect(evaluateRisk(subject, rules)).toEqual({ ok: true });
    expect(evaluateRisk({ ...subject, buyerRecentPaymentCount: 2 }, rules).ok).toBe(true);
  });

  test.each([
    [{ buyerId: 'bad_buyer' }, 'blocked_buyer'],
    [{ sellerIds: ['s', 'bad_seller'] }, 'blocked_seller'],
    [{ totalMinor: 100_001n }, 'amount_limit'],
    [{ currency: 'JPY', totalMinor: 1_001n }, 'amount_limit'],
    [{ buyerRecentPaymentCount: 3 }, 'buyer_velocity'],
  ] as const)('%j → %s', (overrides, rule) => {
    const verdict = evaluateRisk({ ...subject, ...overrides }, rules);
    expect(verdict.ok ? null : verdict.rule).toBe(rule);
  });
});
