// The payments subgraph's signed internal route that re-reads one PSP object and settles it
// through the normal path (subgraphs/payments/src/graphql/internal-sync-route.ts):
//   POST /internal/payments/sync-psp {"paymentIntentId"} → 200 {"outcome","paymentId","status"}
//   POST /internal/payments/sync-psp {"pspRefundId"} → 200 {"outcome","refundId","status","reversed"}
//   404 unknown intent or refund / not Clearhouse's; 503 the PSP did not answer.
// Every request carries the signed system caller `ledger`.
import { signCaller, systemCaller } from '@clearhouse/shared';

export type ReplayOutcome =
  | { readonly kind: 'replayed'; readonly paymentId: string; readonly status: string; readonly changed: boolean }
  | { readonly kind: 'unknown'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

/** `reversed`: the refund had succeeded and is FAILED now, so refund.reversed@1 was emitted. */
export type RefundResyncOutcome =
  | { readonly kind: 'resynced'; readonly refundId: string; readonly status: string; readonly changed: boolean; readonly reversed: boolean }
  | { readonly kind: 'unknown'; readonly reason: string }
  | { readonly kind: 'failed'; readonly reason: string };

export interface PaymentReplayer {
  replay(paymentIntentId: string): Promise<ReplayOutcome>;
  /** Asks payments to apply the PSP's current state of a refund (a lost refund.failed webhook). */
  resyncRefund(pspRefundId: string): Promise<RefundResyncOutcome>;
}

export interface PaymentsReplayOptions {
  /** The payments subgraph's base URL (its /graphql URL works: only the origin is used). */
  readonly paymentsUrl: string;
  readonly signingSecret: string;
  readonly timeoutMs: number;
}

const SIGNED_CALLER_TTL_MS = 30_000;

type Answer = { readonly kind: 'answer'; readonly status: number; readonly json: Record<string, unknown> } | { readonly kind: 'failed'; readonly reason: string };

export function createPaymentsReplayer(options: PaymentsReplayOptions): PaymentReplayer {
  const caller = systemCaller('ledger');
  const url = new URL('/internal/payments/sync-psp', new URL(options.paymentsUrl).origin);
  async function post(request: Record<string, string>): Promise<Answer> {
    let response: Response;
    const body = JSON.stringify(request);
    try {
      response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...signCaller(caller, options.signingSecret, { method: 'POST', url: url.toString(), body }, Date.now(), SIGNED_CALLER_TTL_MS) },
        body,
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      return { kind: 'failed', reason: `payments did not answer: ${(error as Error).message.slice(0, 200)}` };
    }
    const text = await response.text();
    try {
      return { kind: 'answer', status: response.status, json: text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {} };
    } catch {
      return { kind: 'failed', reason: `payments answered ${response.status} with a body that is not JSON` };
    }
  }
  const refused = (answer: Answer & { kind: 'answer' }): { kind: 'failed'; reason: string } => ({
    kind: 'failed',
    reason: `payments answered ${answer.status}: ${String(answer.json.error ?? '').slice(0, 200)}`,
  });
  return {
    async replay(paymentIntentId) {
      const answer = await post({ paymentIntentId });
      if (answer.kind === 'failed') return answer;
      const { json } = answer;
      if (answer.status === 404) return { kind: 'unknown', reason: String(json.error ?? 'unknown payment intent') };
      if (answer.status !== 200) return refused(answer);
      if (json.outcome === 'unknown_payment' || typeof json.paymentId !== 'string') return { kind: 'unknown', reason: 'payments does not know the payment' };
      return { kind: 'replayed', paymentId: json.paymentId, status: String(json.status), changed: json.outcome === 'changed' };
    },
    async resyncRefund(pspRefundId) {
      const answer = await post({ pspRefundId });
      if (answer.kind === 'failed') return answer;
      const { json } = answer;
      if (answer.status === 404) return { kind: 'unknown', reason: String(json.error ?? 'unknown refund') };
      if (answer.status !== 200) return refused(answer);
      if (typeof json.refundId !== 'string') return { kind: 'unknown', reason: 'payments does not know the refund' };
      return { kind: 'resynced', refundId: json.refundId, status: String(json.status), changed: json.outcome !== 'unchanged', reversed: json.reversed === true };
    },
  };
}
