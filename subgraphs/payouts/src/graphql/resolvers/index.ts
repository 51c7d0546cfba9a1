// Thin resolvers: parse → use case → map. Object-level access: a seller key sees only its own payouts.
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { GraphQLError } from 'graphql';
import { canAccessSeller, forbidden, scalarResolvers, toPayloadErrors } from '@clearhouse/shared';
import { requestPayout } from '../../application/request-payout.js';
import { findPayout, listSellerPayouts, PAGE_SIZE_MAX } from '../../persistence/payouts.js';
import type { PayoutsContext } from '../context.js';
import { decodeCursor, encodeCursor, payoutToGraphQL } from '../mappers.js';

interface RequestPayoutArgs {
  input: { idempotencyKey: string; sellerId: string; currency: string; amountMinor?: bigint | null };
}

async function readablePayout(id: string, context: PayoutsContext) {
  if (id.length > 64) return null;
  const payout = await findPayout(context.prisma, id);
  // Another seller's payout is reported as absent: its existence is not the caller's business.
  return payout !== null && canAccessSeller(context.caller, payout.sellerId) ? payoutToGraphQL(payout) : null;
}

function badInput(message: string): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });
}

export const resolvers: GraphQLResolverMap<PayoutsContext> = {
  ...scalarResolvers,
  Query: {
    payout: (_parent: unknown, args: { id: string }, context: PayoutsContext) => readablePayout(args.id, context),
  },
  Mutation: {
    requestPayout: async (_parent: unknown, { input }: RequestPayoutArgs, context: PayoutsContext) => {
      try {
        const result = await requestPayout(context.deps, context.caller, {
          idempotencyKey: input.idempotencyKey,
          sellerId: input.sellerId,
          currency: input.currency,
          amountMinor: input.amountMinor ?? null,
        });
        return { payout: payoutToGraphQL(result.payout), userErrors: [], replayed: result.replayed };
      } catch (error) {
        return { payout: null, userErrors: toPayloadErrors(error, context.logger), replayed: false };
      }
    },
  },
  Payout: {
    __resolveReference: (reference: { id: string }, context: PayoutsContext) => readablePayout(reference.id, context),
  },
  Seller: {
    __resolveReference: (reference: { id: string }, context: PayoutsContext) => {
      if (!canAccessSeller(context.caller, reference.id)) throw forbidden('a seller key may only read its own seller');
      return { id: reference.id };
    },
    payouts: async (seller: { id: string }, args: { first?: number | null; after?: string | null }, context: PayoutsContext) => {
      if (!canAccessSeller(context.caller, seller.id)) throw forbidden('a seller key may only read its own payouts');
      const first = args.first ?? 20;
      if (!Number.isInteger(first) || first < 1 || first > PAGE_SIZE_MAX) throw badInput(`first must be 1..${PAGE_SIZE_MAX}`);
      const after = args.after ? decodeCursor(args.after) : null;
      if (args.after && after === null) throw badInput('after is not a cursor of this connection');
      const rows = await listSellerPayouts(context.prisma, seller.id, first, after);
      const page = rows.slice(0, first);
      const last = page[page.length - 1];
      return {
        edges: page.map((payout) => ({ cursor: encodeCursor(payout), node: payoutToGraphQL(payout) })),
        pageInfo: { hasNextPage: rows.length > first, endCursor: last ? encodeCursor(last) : null },
      };
    },
  },
} as GraphQLResolverMap<PayoutsContext>;
