// Checks of query arguments shared by the ledger's resolvers: a bad argument is a typed
// BAD_USER_INPUT error (never a masked internal error, never a silently different answer).
import { GraphQLError } from 'graphql';
import { TRANSACTION_KINDS, type TransactionKind } from '../../domain/index.js';
import { PAGE_SIZE_MAX } from '../../persistence/ledger-queries.js';

export function badInput(message: string, field?: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', ...(field === undefined ? {} : { field: [field] }) } });
}

/** `first` of a connection: 1..PAGE_SIZE_MAX, the schema's default when omitted. */
export function requirePageSize(first: number | null | undefined, fallback: number): number {
  const size = first ?? fallback;
  if (!Number.isInteger(size) || size < 1 || size > PAGE_SIZE_MAX) throw badInput(`first must be 1..${PAGE_SIZE_MAX}`, 'first');
  return size;
}

export function requireTransactionKind(kind: string | null | undefined): TransactionKind | undefined {
  if (kind === null || kind === undefined) return undefined;
  if (!(TRANSACTION_KINDS as readonly string[]).includes(kind)) throw badInput(`unknown transaction kind ${JSON.stringify(kind.slice(0, 40))}; one of ${TRANSACTION_KINDS.join(', ')}`, 'kind');
  return kind as TransactionKind;
}
