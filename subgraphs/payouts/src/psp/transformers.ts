// Stripe's payout wire format ↔ our PSP types, and Stripe's errors → PspError.
import type Stripe from 'stripe';
import { PSP_PAYOUT_STATUSES, type PspPayoutStatus } from '@clearhouse/shared';
import { PspError, type PspPayoutState } from './port.js';

function pspStatus(status: string): PspPayoutStatus {
  if ((PSP_PAYOUT_STATUSES as readonly string[]).includes(status)) return status as PspPayoutStatus;
  throw new PspError('server', `unknown payout status ${JSON.stringify(status)} from the PSP`, null, null);
}

export function payoutStateFromStripe(payout: Stripe.Payout): PspPayoutState {
  const payoutId = payout.metadata?.payoutId;
  return {
    pspPayoutId: payout.id,
    status: pspStatus(payout.status),
    payoutId: typeof payoutId === 'string' && payoutId.length > 0 ? payoutId : null,
    amountMinor: BigInt(payout.amount),
    currency: payout.currency.toUpperCase(),
    failureCode: payout.failure_code ?? null,
    failureMessage: payout.failure_message ?? null,
  };
}

export function pspErrorFromStripe(error: unknown): PspError {
  if (error instanceof PspError) return error;
  const e = error as { type?: string; statusCode?: number; code?: string; message?: string; headers?: Record<string, unknown> };
  const message = e?.message ?? String(error);
  const statusCode = typeof e?.statusCode === 'number' ? e.statusCode : null;
  const code = e?.code ?? null;
  const options = { cause: error, replayed: e?.headers?.['idempotent-replayed'] === 'true' };
  switch (e?.type) {
    case 'StripeConnectionError':
      return new PspError(/timeout|timed out/i.test(message) ? 'timeout' : 'connection', message, statusCode, code, options);
    case 'StripeRateLimitError':
      return new PspError('rate_limited', message, statusCode, code, options);
    case 'StripeIdempotencyError':
      // 409 "key in use": the first request is still running; anything else is a key misuse.
      return new PspError(statusCode === 409 ? 'in_use' : 'rejected', message, statusCode, code, options);
    case 'StripeAPIError':
      return new PspError('server', message, statusCode, code, options);
    default:
      if (statusCode !== null && statusCode >= 500) return new PspError('server', message, statusCode, code, options);
      if (statusCode === 429) return new PspError('rate_limited', message, statusCode, code, options);
      if (statusCode === null) return new PspError('connection', message, null, code, options);
      return new PspError('rejected', message, statusCode, code, options);
  }
}
