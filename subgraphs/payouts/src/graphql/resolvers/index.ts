import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { canAccessSeller, forbidden, scalarResolvers } from '@clearhouse/shared';
import type { PayoutsContext } from '../context.js';

export const resolvers: GraphQLResolverMap<PayoutsContext> = {
  ...scalarResolvers,
  Seller: {
    __resolveReference: (reference: { id: string }, context: PayoutsContext) => {
      if (!canAccessSeller(context.caller, reference.id)) throw forbidden('a seller key may only read its own seller');
      return { id: reference.id };
    },
    payouts: () => ({ edges: [], pageInfo: { hasNextPage: false, endCursor: null } }),
  },
} as GraphQLResolverMap<PayoutsContext>;
