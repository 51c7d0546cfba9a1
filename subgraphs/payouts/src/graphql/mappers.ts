// Domain → GraphQL, and the opaque pagination cursor.
import { moneyToGraphQL, money } from '@clearhouse/shared';
import type { Payout } from '../domain/payout.js';
import type { PayoutCursor } from '../persistence/payouts.js';

export interface PayoutNode {
  __typename: 'Payout';
  id: string;
  seller: { __typename: 'Seller'; id: string };
  amount: ReturnType<typeof moneyToGraphQL>;
  status: string;
  pspPayoutId: string | null;
  failureCode: string | null;
  createdAt: Date;
  paidAt: Date | null;
  /** Kept for the access check of nested resolvers. */
  sellerId: string;
}

/** `amount` is what the seller's balance gave (balance currency); FX details travel in events. */
export function payoutToGraphQL(payout: Payout): PayoutNode {
  return {
    __typename: 'Payout',
    id: payout.id,
    seller: { __typename: 'Seller', id: payout.sellerId },
    amount: moneyToGraphQL(money(payout.amountMinor, payout.currency)),
    status: payout.status,
    pspPayoutId: payout.pspPayoutId,
    failureCode: payout.failureCode,
    createdAt: payout.createdAt,
    paidAt: payout.paidAt,
    sellerId: payout.sellerId,
  };
}

export function encodeCursor(payout: Payout): string {
  return Buffer.from(JSON.stringify([payout.createdAt.toISOString(), payout.id]), 'utf8').toString('base64url');
}

/** null for a cursor we did not make. */
export function decodeCursor(cursor: string): PayoutCursor | null {
  if (cursor.length > 300) return null;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string' || typeof value[1] !== 'string') return null;
    const createdAt = new Date(value[0]);
    return Number.isNaN(createdAt.getTime()) ? null : { createdAt, id: value[1] };
  } catch {
    return null;
  }
}
