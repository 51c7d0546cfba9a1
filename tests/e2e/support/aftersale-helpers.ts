// After-sale helpers for the black-box suite (tests/e2e/aftersale-*.test.ts): a paid checkout,
// confirmDelivery / refundPaymentOrder documents, outbox rows and ledger / wallet balances.
import { client, platform, platformKey, uniqueId } from './platform';
import { CARDS, checkoutInput, createCheckout, paymentsDb, payOnHostedPage, sleep, waitForStatus, type CheckoutInput, type PaymentOut } from './payin-helpers';

export interface UserErrorOut {
  code: string;
  field: string[] | null;
  message: string;
}

export const ORDER_FIELDS = `id status deliveredAt amount { amountMinor currency } netAmount { amountMinor } refundedAmount { amountMinor currency amount }
  refunds { id status amount { amountMinor } }`;

export const CONFIRM_DELIVERY = `mutation($input: ConfirmDeliveryInput!) {
  confirmDelivery(input: $input) { replayed userErrors { code field message } paymentOrder { ${ORDER_FIELDS} } }
}`;

export const REFUND_ORDER = `mutation($input: RefundPaymentOrderInput!) {
  refundPaymentOrder(input: $input) { replayed userErrors { code field message } refund { id status createdAt amount { amountMinor currency amount } paymentOrder { id status } } }
}`;

export const ORDER = `query($id: ID!) { paymentOrder(id: $id) { ${ORDER_FIELDS} payment { id status refundedAmount { amountMinor } } } }`;

export interface OrderView {
  id: string;
  status: string;
  deliveredAt: string | null;
  amount: { amountMinor: string; currency: string };
  netAmount: { amountMinor: string };
  refundedAmount: { amountMinor: string; currency: string; amount: string };
  refunds: { id: string; status: string; amount: { amountMinor: string } }[];
  payment?: { id: string; status: string; refundedAmount: { amountMinor: string } };
}

export interface DeliveryPayload {
  replayed: boolean;
  userErrors: UserErrorOut[];
  paymentOrder: OrderView | null;
}

export interface RefundOut {
  id: string;
  status: string;
  createdAt: string;
  amount: { amountMinor: string; currency: string; amount: string };
  paymentOrder: { id: string; status: string };
}

export interface RefundPayload {
  replayed: boolean;
  userErrors: UserErrorOut[];
  refund: RefundOut | null;
}

/** A checkout paid with `card` on the hosted page, waited until SUCCEEDED. */
export async function paidCheckout(overrides: Partial<CheckoutInput> = {}, card: string = CARDS.success): Promise<PaymentOut> {
  const created = await createCheckout(checkoutInput(overrides));
  await payOnHostedPage(created.checkoutUrl!, card);
  return waitForStatus(created.id, 'SUCCEEDED');
}

export async function confirmDelivery(paymentOrderId: string, idempotencyKey = uniqueId('deliver'), apiKey = platformKey()): Promise<DeliveryPayload> {
  return (await client(apiKey).request<{ confirmDelivery: DeliveryPayload }>(CONFIRM_DELIVERY, { input: { idempotencyKey, paymentOrderId } })).confirmDelivery;
}

export async function refundOrder(input: { paymentOrderId: string; amountMinor?: string | null; reason?: string; idempotencyKey?: string }, apiKey = platformKey()): Promise<RefundPayload> {
  const variables = { input: { idempotencyKey: input.idempotencyKey ?? uniqueId('refund'), paymentOrderId: input.paymentOrderId, ...(input.amountMinor !== undefined ? { amountMinor: input.amountMinor } : {}), ...(input.reason ? { reason: input.reason } : {}) } };
  return (await client(apiKey).request<{ refundPaymentOrder: RefundPayload }>(REFUND_ORDER, variables)).refundPaymentOrder;
}

export async function getOrder(id: string): Promise<OrderView> {
  const order = (await client(platformKey()).request<{ paymentOrder: OrderView | null }>(ORDER, { id })).paymentOrder;
  if (!order) throw new Error(`no order ${id}`);
  return order;
}

/**
 * Polls the order until `done` holds, then reads it once more and returns that read. The fields
 * of one response come from several statements (the order's row, its refunds, its payment), so
 * the read that first shows a commit may have read the order's row just before it.
 */
export async function settledOrder(id: string, done: (order: OrderView) => boolean, timeoutMs: number, what: string): Promise<OrderView> {
  await eventually(() => getOrder(id), done, timeoutMs, what);
  return getOrder(id);
}

/** Polls `read` until `done` holds (bounded). */
export async function eventually<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 15_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  for (let poll = 0; poll < 1_000 && Date.now() < deadline; poll++) {
    last = await read();
    if (done(last)) return last;
    await sleep(200);
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms; last: ${JSON.stringify(last)}`);
}

export interface OutboxRow {
  event_type: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- event payloads are asserted shape by shape
  payload: Record<string, any>;
}

export async function outboxOf(paymentId: string, eventType?: string): Promise<OutboxRow[]> {
  const rows = await paymentsDb<OutboxRow>(`SELECT event_type, payload FROM outbox_messages WHERE correlation_id = $1 ORDER BY created_at, id`, [paymentId]);
  return eventType ? rows.filter((row) => row.event_type === eventType) : rows;
}

export async function ledgerBalanceMinor(code: string, currency: string): Promise<string | null> {
  const query = `query($code: String!, $currency: String!) { ledgerAccount(code: $code, currency: $currency) { balance { amountMinor } } }`;
  const result = await client(platformKey()).request<{ ledgerAccount: { balance: { amountMinor: string } } | null }>(query, { code, currency });
  return result.ledgerAccount?.balance.amountMinor ?? null;
}

export async function walletBalances(sellerId: string): Promise<{ currency: string; pending: { amountMinor: string }; available: { amountMinor: string } }[]> {
  const query = `query($id: ID!) { seller(id: $id) { balances { currency pending { amountMinor } available { amountMinor } } } }`;
  const result = await client(platformKey()).request<{ seller: { balances: { currency: string; pending: { amountMinor: string }; available: { amountMinor: string } }[] } | null }>(query, { id: sellerId });
  return result.seller?.balances ?? [];
}

export function seller(): string {
  return uniqueId('seller');
}

/** A GET against the simulator's Stripe API (what the PSP holds). */
export async function pspGet<T>(path: string): Promise<T> {
  const response = await fetch(`${platform().urls.psp}${path}`, { headers: { authorization: `Bearer ${platform().env.STRIPE_API_KEY ?? 'sk_test_clearhouse'}` } });
  return (await response.json()) as T;
}

export async function refundsAtPsp(paymentIntentId: string): Promise<{ id: string; amount: number; status: string; metadata: Record<string, string> }[]> {
  return (await pspGet<{ data: { id: string; amount: number; status: string; metadata: Record<string, string> }[] }>(`/v1/refunds?payment_intent=${paymentIntentId}&limit=100`)).data;
}
