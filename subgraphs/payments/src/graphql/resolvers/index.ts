import { scalarResolvers } from '@clearhouse/shared';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { PaymentsContext } from '../context.js';
import { createSellerApiKeyResolver } from './create-seller-api-key.js';

export const resolvers: GraphQLResolverMap<PaymentsContext> = {
  ...scalarResolvers,
  Mutation: {
    createSellerApiKey: createSellerApiKeyResolver,
  },
} as GraphQLResolverMap<PaymentsContext>;
