import { formatAmount, type Money } from '../money/index.js';

// The GraphQL `Money` type: amountMinor for machines, amount ("19.99") for people.
export function moneyToGraphQL(m: Money): { amountMinor: bigint; currency: string; amount: string } {
  return { amountMinor: m.amountMinor, currency: m.currency, amount: formatAmount(m.amountMinor, m.currency) };
}
