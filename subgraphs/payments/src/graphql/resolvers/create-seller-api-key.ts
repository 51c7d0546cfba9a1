import { toPayloadErrors } from '@clearhouse/shared';
import { createSellerApiKey } from '../../application/api-keys.js';
import type { PaymentsContext } from '../context.js';

export async function createSellerApiKeyResolver(_: unknown, args: { sellerId: string }, context: PaymentsContext) {
  try {
    const { secret } = await createSellerApiKey(context.apiKeys, context.caller, args.sellerId);
    return { apiKey: secret, userErrors: [] };
  } catch (error) {
    return { apiKey: null, userErrors: toPayloadErrors(error) };
  }
}
