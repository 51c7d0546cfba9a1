// Risk rules checked before a checkout reaches the PSP. Pure: the caller supplies the buyer's
// recent payment count; the rules come from the environment.
import { minorUnitsPerMajor } from '@clearhouse/shared';

export interface RiskRules {
  /** Largest payment in major units of its currency (e.g. 10000 = $10,000.00). */
  paymentAmountMajorMax: bigint;
  /** Most payments one buyer may start within the velocity window (this one included). */
  buyerPaymentsPerWindowMax: number;
  buyerVelocityWindowMs: number;
  blockedBuyerIds: ReadonlySet<string>;
  blockedSellerIds: ReadonlySet<string>;
}

export interface RiskSubject {
  buyerId: string;
  sellerIds: readonly string[];
  currency: string;
  totalMinor: bigint;
  /** Payments this buyer started within the window, not counting this one. */
  buyerRecentPaymentCount: number;
}

export type RiskVerdict = { ok: true } | { ok: false; rule: 'amount_limit' | 'buyer_velocity' | 'blocked_buyer' | 'blocked_seller'; message: string };

export function evaluateRisk(subject: RiskSubject, rules: RiskRules): RiskVerdict {
  if (rules.blockedBuyerIds.has(subject.buyerId)) return { ok: false, rule: 'blocked_buyer', message: 'the buyer is not allowed to pay' };
  const blockedSeller = subject.sellerIds.find((sellerId) => rules.blockedSellerIds.has(sellerId));
  if (blockedSeller !== undefined) return { ok: false, rule: 'blocked_seller', message: `seller ${blockedSeller} may not receive payments` };
  const limitMinor = rules.paymentAmountMajorMax * minorUnitsPerMajor(subject.currency);
  if (subject.totalMinor > limitMinor) {
    return { ok: false, rule: 'amount_limit', message: `the payment exceeds the limit of ${rules.paymentAmountMajorMax} ${subject.currency} per payment` };
  }
  if (subject.buyerRecentPaymentCount + 1 > rules.buyerPaymentsPerWindowMax) {
    return { ok: false, rule: 'buyer_velocity', message: `the buyer started more than ${rules.buyerPaymentsPerWindowMax} payments within ${Math.round(rules.buyerVelocityWindowMs / 1000)} s` };
  }
  return { ok: true };
}
