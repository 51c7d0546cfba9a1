// createCheckout and cancelPayment: the payload carries the payment as it is now.
import { toPayloadErrors } from '@clearhouse/shared';
import { cancelPayment } from '../../application/cancel-payment.js';
import { createCheckout, type MutationResult } from '../../application/create-checkout.js';
import type { CreateCheckoutInput } from '../../domain/checkout.js';
import type { PaymentsContext } from '../context.js';
import { loadVisiblePayment } from './payments.js';

async function toPayload(context: PaymentsContext, run: () => Promise<MutationResult>) {
  try {
    const result = await run();
    // The rows the mutation left behind, as stored: the payload needs no read-back.
    if (result.current) {
      context.loaders.payment.prime(result.current.payment.id, result.current.payment);
      context.loaders.ordersByPayment.prime(result.current.payment.id, result.current.orders);
    }
    const payment = result.paymentId ? await loadVisiblePayment(context, result.paymentId) : null;
    return { payment, userErrors: result.userErrors, replayed: result.replayed };
  } catch (error) {
    return { payment: null, userErrors: toPayloadErrors(error, context.logger), replayed: false };
  }
}

export function createCheckoutResolver(_: unknown, args: { input: CreateCheckoutInput }, context: PaymentsContext) {
  return toPayload(context, () => createCheckout(context.deps, { caller: context.caller, input: args.input }));
}

export function cancelPaymentResolver(_: unknown, args: { input: { idempotencyKey: string; paymentId: string } }, context: PaymentsContext) {
  return toPayload(context, () => cancelPayment(context.deps, context.caller, args.input));
}
