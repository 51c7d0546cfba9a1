import { scalarResolvers } from '@clearhouse/shared';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { PaymentsContext } from '../context.js';
import { confirmDeliveryResolver, orderRefunds, Refund, refundPaymentOrderResolver } from './aftersale.js';
import { cancelPaymentResolver, createCheckoutResolver } from './checkout-mutations.js';
import { createSellerApiKeyResolver } from './create-seller-api-key.js';
import { Payment, PaymentOrder, paymentQueries } from './payments.js';

export const resolvers: GraphQLResolverMap<PaymentsContext> = {
  ...scalarResolvers,
  Query: {
    ...paymentQueries,
  },
  Mutation: {
    createSellerApiKey: createSellerApiKeyResolver,
    createCheckout: createCheckoutResolver,
    cancelPayment: cancelPaymentResolver,
    confirmDelivery: confirmDeliveryResolver,
    refundPaymentOrder: refundPaymentOrderResolver,
  },
  Payment,
  PaymentOrder: { ...PaymentOrder, refunds: orderRefunds },
  Refund,
} as GraphQLResolverMap<PaymentsContext>;
