import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { scalarResolvers } from '@clearhouse/shared';
import type { LedgerContext } from '../context.js';

export const resolvers: GraphQLResolverMap<LedgerContext> = {
  ...scalarResolvers,
} as GraphQLResolverMap<LedgerContext>;
