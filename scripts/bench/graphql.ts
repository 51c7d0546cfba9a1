// Small GraphQL-over-HTTP helpers (undici request() on one keep-alive agent) and the documents the benchmark sends.
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'undici';

export interface GraphQLResponse<T> {
  data?: T | null;
  errors?: { message: string; extensions?: { code?: string } }[];
}

/**
 * The bench's own HTTP client for everything but autocannon's load: undici's `request()` on one
 * keep-alive agent. Node's `fetch` (undici behind web streams) costs several times the CPU per
 * call, and the load generator's CPU comes out of the same two cores as the platform's.
 */
export const benchHttp = new Agent({ connections: 128, keepAliveTimeout: 10_000, pipelining: 1 });

export async function httpPost(url: string, body: string, headers: Record<string, string>, timeoutMs = 30_000): Promise<{ status: number; text: string }> {
  const response = await request(url, { method: 'POST', body, headers, dispatcher: benchHttp, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  return { status: response.statusCode, text: await response.body.text() };
}

export async function gql<T>(url: string, query: string, variables: Record<string, unknown>, headers: Record<string, string>, timeoutMs = 30_000): Promise<GraphQLResponse<T>> {
  const response = await httpPost(url, JSON.stringify({ query, variables }), { 'content-type': 'application/json', ...headers }, timeoutMs);
  try {
    return JSON.parse(response.text) as GraphQLResponse<T>;
  } catch {
    return { errors: [{ message: `HTTP ${response.status}: ${response.text.slice(0, 200)}` }] };
  }
}

export function bearer(key: string): Record<string, string> {
  return { authorization: `Bearer ${key}` };
}

export const CREATE_CHECKOUT = `mutation CreateCheckout($input: CreateCheckoutInput!) {
  createCheckout(input: $input) { replayed userErrors { code message } payment { id status checkoutUrl } }
}`;

/** A simple read served by the payments subgraph alone (scenario d). */
export const PAYMENT_READ = `query PaymentRead($id: ID!) {
  payment(id: $id) { id status buyerId checkoutUrl createdAt amount { amountMinor currency amount } orders { id status amount { amountMinor currency } fee { amountMinor } netAmount { amountMinor } } }
}`;

const runTag = randomBytes(3).toString('hex');
let sequence = 0;

/** Unique, short ids: `<prefix>_<run>_<n>` (valid seller/buyer ids: [A-Za-z0-9_-]{1,64}). */
export function uniqueId(prefix: string): string {
  sequence += 1;
  return `${prefix}_${runTag}_${sequence.toString(36)}`;
}

export interface CheckoutOrder {
  sellerId: string;
  amountMinor: string;
  reference: string;
}

/** A checkout of 1-3 orders for distinct sellers; `sellerPool` > 0 draws sellers from a fixed pool. */
export function checkoutInput(sellerPool = 0): { idempotencyKey: string; buyerId: string; currency: string; orders: CheckoutOrder[] } {
  const count = 1 + Math.floor(Math.random() * 3);
  const sellers = new Set<string>();
  while (sellers.size < count) sellers.add(sellerPool > 0 ? `bs_${runTag}_${Math.floor(Math.random() * sellerPool)}` : uniqueId('bs'));
  return {
    idempotencyKey: uniqueId('bk'),
    buyerId: uniqueId('bb'),
    currency: 'USD',
    orders: [...sellers].map((sellerId, index) => ({ sellerId, amountMinor: String(500 + Math.floor(Math.random() * 20_000)), reference: `B-${index + 1}` })),
  };
}

export function checkoutBody(sellerPool = 0): string {
  return JSON.stringify({ query: CREATE_CHECKOUT, variables: { input: checkoutInput(sellerPool) } });
}

export interface CheckoutOutcome {
  ok: boolean;
  paymentId: string | null;
  checkoutUrl: string | null;
  error: string | null;
}

export function parseCheckout(status: number, body: string): CheckoutOutcome {
  if (status < 200 || status >= 300) return { ok: false, paymentId: null, checkoutUrl: null, error: `HTTP ${status}` };
  try {
    const parsed = JSON.parse(body) as GraphQLResponse<{ createCheckout: { userErrors: { code: string }[]; payment: { id: string; status: string; checkoutUrl: string | null } | null } }>;
    if (parsed.errors?.length) return { ok: false, paymentId: null, checkoutUrl: null, error: parsed.errors[0]?.extensions?.code ?? parsed.errors[0]?.message.slice(0, 60) ?? 'error' };
    const payload = parsed.data?.createCheckout;
    if (!payload) return { ok: false, paymentId: null, checkoutUrl: null, error: 'no data' };
    if (payload.userErrors.length > 0) return { ok: false, paymentId: payload.payment?.id ?? null, checkoutUrl: null, error: payload.userErrors[0]?.code ?? 'userError' };
    if (!payload.payment || payload.payment.status !== 'REQUIRES_PAYMENT' || !payload.payment.checkoutUrl) {
      return { ok: false, paymentId: payload.payment?.id ?? null, checkoutUrl: null, error: `status ${payload.payment?.status ?? 'none'}` };
    }
    return { ok: true, paymentId: payload.payment.id, checkoutUrl: payload.payment.checkoutUrl, error: null };
  } catch {
    return { ok: false, paymentId: null, checkoutUrl: null, error: 'bad JSON' };
  }
}
