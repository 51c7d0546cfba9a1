// Pay-in helpers for the black-box suite: GraphQL documents, a buyer paying on the hosted page,
// bounded polling, the simulator's admin endpoints and direct row counts in the payments DB.
import { Client } from 'pg';
import { client, platform, platformKey, uniqueId } from './platform';

export const PAYMENT_FIELDS = `
  id status buyerId checkoutUrl pspPaymentId failureCode failureMessage createdAt updatedAt
  amount { amountMinor currency amount }
  refundedAmount { amountMinor currency amount }
  orders { id reference status seller { id } amount { amountMinor currency amount } fee { amountMinor amount } netAmount { amountMinor amount } refundedAmount { amountMinor } }
  timeline { at source type message data }
`;

export const CREATE_CHECKOUT = `mutation($input: CreateCheckoutInput!) {
  createCheckout(input: $input) { replayed userErrors { code field message } payment { ${PAYMENT_FIELDS} } }
}`;

export const CANCEL_PAYMENT = `mutation($input: CancelPaymentInput!) {
  cancelPayment(input: $input) { replayed userErrors { code field message } payment { id status checkoutUrl } }
}`;

export const PAYMENT = `query($id: ID!) { payment(id: $id) { ${PAYMENT_FIELDS} } }`;

export interface MoneyOut {
  amountMinor: string;
  currency: string;
  amount: string;
}

export interface OrderOut {
  id: string;
  reference: string | null;
  status: string;
  seller: { id: string };
  amount: MoneyOut;
  fee: { amountMinor: string; amount: string };
  netAmount: { amountMinor: string; amount: string };
}

export interface PaymentOut {
  id: string;
  status: string;
  buyerId: string;
  checkoutUrl: string | null;
  pspPaymentId: string | null;
  failureCode: string | null;
  failureMessage: string | null;
  amount: MoneyOut;
  orders: OrderOut[];
  timeline: { at: string; source: string; type: string; message: string; data: unknown }[];
}

export interface UserErrorOut {
  code: string;
  field: string[] | null;
  message: string;
}

export interface CheckoutPayload {
  replayed: boolean;
  userErrors: UserErrorOut[];
  payment: PaymentOut | null;
}

export interface CheckoutInput {
  idempotencyKey: string;
  buyerId: string;
  currency: string;
  orders: { sellerId: string; amountMinor: string | number; reference?: string | null }[];
  returnUrl?: string | null;
  metadata?: unknown;
}

export function checkoutInput(overrides: Partial<CheckoutInput> = {}): CheckoutInput {
  return {
    idempotencyKey: uniqueId('key'),
    buyerId: uniqueId('buyer'),
    currency: 'USD',
    orders: [{ sellerId: uniqueId('seller'), amountMinor: '2500', reference: 'A-1' }],
    ...overrides,
  };
}

export async function createCheckoutOnce(input: CheckoutInput, apiKey: string = platformKey()): Promise<CheckoutPayload> {
  return (await client(apiKey).request<{ createCheckout: CheckoutPayload }>(CREATE_CHECKOUT, { input })).createCheckout;
}

const RETRYABLE_CODES = new Set(['PSP_UNAVAILABLE', 'IDEMPOTENCY_KEY_IN_USE']);
const CHECKOUT_ATTEMPTS_MAX = 10;
const CHECKOUT_RETRY_DELAY_MS = 500;

/** createCheckout as a well-behaved client: retries retryable errors with the same key (bounded). */
export async function createCheckout(input: CheckoutInput = checkoutInput()): Promise<PaymentOut> {
  let last: CheckoutPayload | undefined;
  for (let attempt = 1; attempt <= CHECKOUT_ATTEMPTS_MAX; attempt++) {
    last = await createCheckoutOnce(input);
    if (last.payment && last.userErrors.length === 0) return last.payment;
    if (!last.userErrors.every((error) => RETRYABLE_CODES.has(error.code))) break;
    await sleep(CHECKOUT_RETRY_DELAY_MS);
  }
  throw new Error(`createCheckout failed: ${JSON.stringify(last?.userErrors)}`);
}

export function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}

export async function getPayment(id: string, apiKey: string = platformKey()): Promise<PaymentOut | null> {
  return (await client(apiKey).request<{ payment: PaymentOut | null }>(PAYMENT, { id })).payment;
}

const POLL_INTERVAL_MS = 200;

/** Polls until the payment reaches one of `statuses`; bounded by timeoutMs. */
export async function waitForStatus(id: string, statuses: string | readonly string[], timeoutMs = 15_000): Promise<PaymentOut> {
  const wanted = typeof statuses === 'string' ? [statuses] : statuses;
  const deadline = Date.now() + timeoutMs;
  let last: PaymentOut | null = null;
  for (let poll = 0; Date.now() < deadline && poll < timeoutMs / POLL_INTERVAL_MS + 1; poll++) {
    last = await getPayment(id);
    if (last && wanted.includes(last.status)) return last;
    await sleep(POLL_INTERVAL_MS);
  }
  throw new Error(`payment ${id} did not reach ${wanted.join('|')} within ${timeoutMs} ms (last: ${last?.status})`);
}

export const CARDS = {
  success: '4242424242424242',
  decline: '4000000000000002',
  insufficientFunds: '4000000000009995',
  threeDSecure: '4000002500003155',
  processing: '4000000000007777',
  /** Succeeds; a refund of it is succeeded at once, then fails at the PSP (refund.failed). */
  refundFails: '4000000000005126',
} as const;

/** The buyer submits the hosted page's card form (what a browser does). Returns status and Location. */
export async function payOnHostedPage(checkoutUrl: string, cardNumber: string): Promise<{ status: number; location: string | null }> {
  const body = new URLSearchParams({ card_number: cardNumber, exp_month: '12', exp_year: String(new Date().getUTCFullYear() + 3), cvc: '123' });
  const response = await fetch(checkoutUrl, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
  await response.text();
  return { status: response.status, location: response.headers.get('location') };
}

/** Answers the 3-D Secure challenge of a hosted page. */
export async function answerChallenge(checkoutUrl: string, approve: boolean): Promise<number> {
  const response = await fetch(`${checkoutUrl}/3ds`, {
    method: 'POST',
    body: new URLSearchParams({ approve: approve ? '1' : '0' }),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    redirect: 'manual',
  });
  await response.text();
  return response.status;
}

export async function setPspFaults(faults: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${platform().urls.psp}/__admin/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(faults) });
  if (!response.ok) throw new Error(`setting faults failed: ${response.status} ${await response.text()}`);
}

export async function clearPspFaults(): Promise<void> {
  await fetch(`${platform().urls.psp}/__admin/faults`, { method: 'DELETE' });
}

export interface PspLogEntry {
  kind: string;
  method?: string;
  path?: string;
  idempotencyKey?: string | null;
  status?: number | null;
  outcome?: string;
  applied?: boolean;
  type?: string;
  eventId?: string;
}

export async function pspLog(sinceIso?: string): Promise<PspLogEntry[]> {
  const query = sinceIso ? `?since=${encodeURIComponent(sinceIso)}` : '';
  const response = await fetch(`${platform().urls.psp}/__admin/log${query}`);
  return ((await response.json()) as { entries: PspLogEntry[] }).entries;
}

/** Payment intents the simulator holds whose metadata names this payment. */
export async function pspPaymentIntentsOf(paymentId: string): Promise<{ id: string; status: string }[]> {
  const found: { id: string; status: string }[] = [];
  let startingAfter: string | undefined;
  for (let page = 0; page < 50; page++) {
    const query = new URLSearchParams({ limit: '100', ...(startingAfter ? { starting_after: startingAfter } : {}) });
    const response = await fetch(`${platform().urls.psp}/v1/payment_intents?${query}`, { headers: { authorization: `Bearer ${platform().env.STRIPE_API_KEY ?? 'sk_test_clearhouse'}` } });
    const list = (await response.json()) as { data: { id: string; status: string; metadata: Record<string, string> }[]; has_more: boolean };
    for (const intent of list.data) if (intent.metadata?.paymentId === paymentId) found.push({ id: intent.id, status: intent.status });
    if (!list.has_more || list.data.length === 0) break;
    startingAfter = list.data.at(-1)?.id;
  }
  return found;
}

/** Runs one query against the e2e platform's payments database. */
export async function paymentsDb<T>(sql: string, params: unknown[] = []): Promise<T[]> {
  const env = platform().env;
  const server = (env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432').replace(/\/+$/, '');
  const db = new Client({ connectionString: `${server}/${env.DATABASE_PREFIX}_payments` });
  await db.connect();
  try {
    return (await db.query(sql, params)).rows as T[];
  } finally {
    await db.end();
  }
}

export async function countRows(table: 'payments' | 'payment_orders' | 'idempotency_keys' | 'timeline_events' | 'outbox_messages'): Promise<number> {
  const rows = await paymentsDb<{ count: string }>(`SELECT count(*)::text AS count FROM ${table}`);
  return Number(rows[0]?.count ?? 0);
}

export async function signedWebhook(payload: string, secret: string, timestampSeconds = Math.floor(Date.now() / 1000)): Promise<string> {
  const { createHmac } = await import('node:crypto');
  return `t=${timestampSeconds},v1=${createHmac('sha256', secret).update(`${timestampSeconds}.${payload}`, 'utf8').digest('hex')}`;
}
