// (d) The gateway's own cost: the same query (served by the payments subgraph alone) sent through
// the gateway and straight to the subgraph, signed the way the gateway signs it, in the same run.
import { CORRELATION_HEADER } from '@clearhouse/shared';
import { bearer, checkoutInput, CREATE_CHECKOUT, gql, PAYMENT_READ } from '../graphql';
import { runLoad, type LoadResult } from '../load';
import type { BenchTarget } from '../platform';

export interface GatewayCostResult {
  readonly mode: string;
  readonly viaGateway: LoadResult;
  readonly direct: LoadResult;
}

/** A few payments to read (created through the gateway). */
async function seedPayments(target: BenchTarget, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let index = 0; index < count; index += 1) {
    const response = await gql<{ createCheckout: { payment: { id: string } | null } }>(target.gatewayUrl, CREATE_CHECKOUT, { input: checkoutInput() }, bearer(target.platformKey));
    const id = response.data?.createCheckout.payment?.id;
    if (id) ids.push(id);
  }
  if (ids.length === 0) throw new Error('could not create a payment to read');
  return ids;
}

function classifyRead(status: number, body: string): string | null {
  if (status < 200 || status >= 300) return `HTTP ${status}`;
  if (body.includes('"errors"')) {
    try {
      const parsed = JSON.parse(body) as { errors?: { extensions?: { code?: string }; message: string }[] };
      return parsed.errors?.[0]?.extensions?.code ?? parsed.errors?.[0]?.message.slice(0, 60) ?? 'error';
    } catch {
      return 'bad JSON';
    }
  }
  return body.includes('"payment":{') ? null : 'no payment';
}

export async function gatewayCost(target: BenchTarget, durationSec: number, rates: readonly number[], connections: number): Promise<GatewayCostResult[]> {
  const { signCaller } = await import('@clearhouse/shared');
  const ids = await seedPayments(target, 20);
  let next = 0;
  const body = () => JSON.stringify({ query: PAYMENT_READ, variables: { id: ids[next++ % ids.length] } });
  // The gateway signs each request (a 60 s lifetime, bound to the request's body, with a nonce a
  // subgraph accepts once), so the direct phase signs each request too: the bench process pays
  // the signing, as the gateway does, and the subgraph the same verification.
  const signedFor = (requestBody: string): Record<string, string> =>
    signCaller({ role: 'platform', keyId: 'bench-direct', sellerId: null }, target.signingSecret, { method: 'POST', url: target.paymentsUrl, body: requestBody });
  const correlation = { [CORRELATION_HEADER]: `bench-direct-${target.runId}` };
  const results: GatewayCostResult[] = [];
  for (const rate of rates) {
    const mode = rate > 0 ? `${rate}/s` : `max (${connections} conn.)`;
    const viaGateway = await runLoad({ label: `(d) via gateway ${mode}`, url: target.gatewayUrl, headers: bearer(target.platformKey), rate, connections, durationSec, body, classify: classifyRead });
    const direct = await runLoad({ label: `(d) direct to payments ${mode}`, url: target.paymentsUrl, headers: correlation, headersFor: signedFor, rate, connections, durationSec, body, classify: classifyRead });
    results.push({ mode, viaGateway, direct });
  }
  return results;
}
