// Stripe's test cards (and their PaymentMethod ids) and what each does in the simulator.
import { newId } from '../core/ids.js';
import type { CardDetails } from '../core/types.js';

export type CardOutcome =
  | 'success'
  | 'generic_decline'
  | 'insufficient_funds'
  | 'incorrect_number'
  | 'three_d_secure'
  | 'dispute'
  | 'refund_fails'
  | 'processing';

interface TestCard {
  number: string;
  brand: string;
  funding: string;
  outcome: CardOutcome;
  paymentMethodIds: string[];
}

/** 4000 0000 0000 7777 (pm_card_processing) is the simulator's own: not a Stripe test card. */
export const testCards: readonly TestCard[] = [
  { number: '4242424242424242', brand: 'visa', funding: 'credit', outcome: 'success', paymentMethodIds: ['pm_card_visa'] },
  { number: '4000056655665556', brand: 'visa', funding: 'debit', outcome: 'success', paymentMethodIds: ['pm_card_visa_debit'] },
  { number: '5555555555554444', brand: 'mastercard', funding: 'credit', outcome: 'success', paymentMethodIds: ['pm_card_mastercard'] },
  { number: '4000000000000002', brand: 'visa', funding: 'credit', outcome: 'generic_decline', paymentMethodIds: ['pm_card_chargeDeclined', 'pm_card_visa_chargeDeclined'] },
  {
    number: '4000000000009995',
    brand: 'visa',
    funding: 'credit',
    outcome: 'insufficient_funds',
    paymentMethodIds: ['pm_card_chargeDeclinedInsufficientFunds', 'pm_card_visa_chargeDeclinedInsufficientFunds'],
  },
  {
    number: '4000002500003155',
    brand: 'visa',
    funding: 'credit',
    outcome: 'three_d_secure',
    paymentMethodIds: ['pm_card_threeDSecure2Required', 'pm_card_authenticationRequired', 'pm_card_authenticationRequiredOnSetup'],
  },
  { number: '4000000000000259', brand: 'visa', funding: 'credit', outcome: 'dispute', paymentMethodIds: ['pm_card_createDispute', 'pm_card_createDisputeProductNotReceived'] },
  { number: '4000000000005126', brand: 'visa', funding: 'credit', outcome: 'refund_fails', paymentMethodIds: ['pm_card_refundFail'] },
  { number: '4000000000007777', brand: 'visa', funding: 'credit', outcome: 'processing', paymentMethodIds: ['pm_card_processing'] },
];

export interface ResolvedCard {
  details: CardDetails;
  outcome: CardOutcome;
}

function brandOf(number: string): string {
  if (number.startsWith('4')) return 'visa';
  if (/^5[1-5]/.test(number)) return 'mastercard';
  if (/^3[47]/.test(number)) return 'amex';
  return 'unknown';
}

/** A card typed on the hosted page; unknown numbers decline with incorrect_number. */
export function cardFromNumber(number: string, expMonth: number, expYear: number): ResolvedCard {
  const known = testCards.find((card) => card.number === number);
  return {
    outcome: known?.outcome ?? 'incorrect_number',
    details: {
      brand: known?.brand ?? brandOf(number),
      funding: known?.funding ?? 'unknown',
      last4: number.slice(-4),
      expMonth,
      expYear,
      paymentMethodId: newId('pm'),
    },
  };
}

export function cardFromPaymentMethod(paymentMethodId: string, nowYear: number): ResolvedCard | undefined {
  const known = testCards.find((card) => card.paymentMethodIds.includes(paymentMethodId));
  if (!known) return undefined;
  return {
    outcome: known.outcome,
    details: {
      brand: known.brand,
      funding: known.funding,
      last4: known.number.slice(-4),
      expMonth: 12,
      expYear: nowYear + 3,
      paymentMethodId,
    },
  };
}
