import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { canAccessSeller, forbidden, scalarResolvers } from '@clearhouse/shared';
import type { WalletContext } from '../context.js';

function sellerRef(id: string, context: WalletContext): { id: string } {
  if (!canAccessSeller(context.caller, id)) throw forbidden('a seller key may only read its own seller');
  return { id };
}

export const resolvers: GraphQLResolverMap<WalletContext> = {
  ...scalarResolvers,
  Query: {
    seller: (_: unknown, args: { id: string }, context: WalletContext) => sellerRef(args.id, context),
  },
  Seller: {
    __resolveReference: (reference: { id: string }, context: WalletContext) => sellerRef(reference.id, context),
    balances: () => [],
  },
} as GraphQLResolverMap<WalletContext>;
