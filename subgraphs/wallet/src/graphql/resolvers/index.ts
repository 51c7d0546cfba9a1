import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { canAccessSeller, forbidden, money, moneyToGraphQL, scalarResolvers } from '@clearhouse/shared';
import { findWallets, type StoredWallet } from '../../persistence/wallet-store.js';
import type { WalletContext } from '../context.js';
import { auditReportResolvers } from './audit.js';

function sellerRef(id: string, context: WalletContext): { id: string } {
  if (!canAccessSeller(context.caller, id)) throw forbidden('a seller key may only read its own seller');
  return { id };
}

function walletBalanceOf(wallet: StoredWallet) {
  return {
    currency: wallet.currency,
    pending: moneyToGraphQL(money(wallet.pendingMinor, wallet.currency)),
    available: moneyToGraphQL(money(wallet.availableMinor, wallet.currency)),
    reserved: moneyToGraphQL(money(wallet.reservedMinor, wallet.currency)),
  };
}

export const resolvers: GraphQLResolverMap<WalletContext> = {
  ...scalarResolvers,
  Query: {
    seller: (_: unknown, args: { id: string }, context: WalletContext) => sellerRef(args.id, context),
  },
  Seller: {
    __resolveReference: (reference: { id: string }, context: WalletContext) => sellerRef(reference.id, context),
    balances: async (seller: { id: string }, _: unknown, context: WalletContext) => {
      sellerRef(seller.id, context);
      return (await findWallets(context.prisma, seller.id)).map(walletBalanceOf);
    },
  },
  AuditReport: auditReportResolvers,
} as GraphQLResolverMap<WalletContext>;
