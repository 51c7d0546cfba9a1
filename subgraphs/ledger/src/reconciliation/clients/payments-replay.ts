// The payments subgraph's signed internal route that replays one payment intent from the PSP's
// state through the normal path (subgraphs/payments/src/graphql/internal-sync-route.ts):
//   POST /internal/payments/sync-psp {"paymentIntentId"} → 200 {"outcome","paymentId","status"}
//   404 unknown intent / not a Clearhouse payment; 503 the PSP did not answer.
// Every request carries the signed system caller `ledger`.
import { signCaller, systemCaller } from '@clearhouse/shared';

export type ReplayOutcome =
  | { readonly kind: 'replayed'; readonly paymentId: string; readonly status: string; readonly changed: boolean }
  | { readonly kind: 'unknown'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

export interface PaymentReplayer {
  replay(paymentIntentId: string): Promise<ReplayOutcome>;
}

export interface PaymentsReplayOptions {
  /** The payments subgraph's base URL (its /graphql URL works: only the origin is used). */
  readonly paymentsUrl: string;
  readonly signingSecret: string;
  readonly timeoutMs: number;
}

const SIGNED_CALLER_TTL_MS = 30_000;

export function createPaymentsReplayer(options: PaymentsReplayOptions): PaymentReplayer {
  const caller = systemCaller('ledger');
  const url = new URL('/internal/payments/sync-psp', new URL(options.paymentsUrl).origin);
  return {
    async replay(paymentIntentId) {
      let response: Response;
      try {
        response = await fetch(url, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...signCaller(caller, options.signingSecret, Date.now(), SIGNED_CALLER_TTL_MS) },
          body: JSON.stringify({ paymentIntentId }),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        return { kind: 'failed', reason: `payments did not answer: ${(error as Error).message.slice(0, 200)}` };
      }
      const text = await response.text();
      let json: Record<string, unknown> = {};
      try {
        json = text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {};
      } catch {
        return { kind: 'failed', reason: `payments answered ${response.status} with a body that is not JSON` };
      }
      if (response.status === 404) return { kind: 'unknown', reason: String(json.error ?? 'unknown payment intent') };
      if (response.status !== 200) return { kind: 'failed', reason: `payments answered ${response.status}: ${String(json.error ?? '').slice(0, 200)}` };
      if (json.outcome === 'unknown_payment' || typeof json.paymentId !== 'string') return { kind: 'unknown', reason: 'payments does not know the payment' };
      return { kind: 'replayed', paymentId: json.paymentId, status: String(json.status), changed: json.outcome === 'changed' };
    },
  };
}
