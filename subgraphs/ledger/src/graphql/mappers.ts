// Ledger read models → GraphQL shapes.
import { money, moneyToGraphQL } from '@clearhouse/shared';
import type { EntryView, Page, TransactionView } from '../persistence/ledger-queries.js';

export const moneyOf = (amountMinor: bigint, currency: string) => moneyToGraphQL(money(amountMinor, currency));

export function entryOf(entry: EntryView) {
  return {
    accountCode: entry.accountCode,
    direction: entry.direction,
    amount: moneyOf(entry.amountMinor, entry.currency),
    transactionId: entry.transactionId,
    effectiveAt: entry.effectiveAt,
  };
}

export function transactionOf(transaction: TransactionView) {
  return {
    id: transaction.id,
    reference: transaction.reference,
    kind: transaction.kind,
    postedAt: transaction.postedAt,
    effectiveAt: transaction.effectiveAt,
    entries: transaction.entries.map(entryOf),
  };
}

export function connectionOf<T, N>(page: Page<T>, map: (node: T) => N) {
  const edges = page.items.map((item) => ({ cursor: item.cursor, node: map(item.node) }));
  return { edges, pageInfo: { hasNextPage: page.hasNextPage, endCursor: edges[edges.length - 1]?.cursor ?? null } };
}
