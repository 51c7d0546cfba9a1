// The PSP the application-layer tests talk to: the real PSP simulator (in-process, on its own
// throw-away database) through the official SDK, as in the service, with a local receiver that
// catches its signed webhooks so a test hands them to the handlers when and as often as it
// chooses. Its admin endpoints (fault injection, runtime config, dispute outcomes, request log)
// and its hosted payment page with Stripe's test cards make the PSP answer the way a test needs.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type Stripe from 'stripe';
import type { Caller } from '@clearhouse/shared';
import { waitFor } from '@clearhouse/shared/testkit';
import type { PaymentsPsp, PspRefundState, PspWebhookEvent } from '../psp/port.js';
import { createPaymentsStripeClient, createStripePsp } from '../psp/stripe.js';
import { createCheckout, type CreateCheckoutCommand } from './create-checkout.js';
import type { PaymentsDeps } from './deps.js';
import { syncPaymentWithPsp } from './sync-with-psp.js';

interface SimulatorModule {
  startSimulator(options: Record<string, unknown>): Promise<{ url: string; stop(): Promise<void> }>;
}
// The simulator's own sources: it is not a dependency of this package.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulatorModule = require('../../../../psp-simulator/src/server.ts') as SimulatorModule;
// eslint-disable-next-line @typescript-eslint/no-require-imports
const simulatorDb = require('../../../../psp-simulator/src/store/db.ts') as { dropDatabase(url: string): Promise<void> };

const POSTGRES_URL = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';
const API_KEY = 'sk_test_payments';
const WEBHOOK_SECRET = 'whsec_payments_test';
const PSP_TIMEOUT_MS = 2_000;

/** Stripe's test cards as the hosted page takes them (see ARCHITECTURE.md and the simulator's cards.ts). */
export const TEST_CARDS = {
  success: '4242424242424242',
  declined: '4000000000000002',
  threeDSecure: '4000002500003155',
  dispute: '4000000000000259',
  /** Succeeds; a refund of it is `succeeded` at once, then `failed` (refund.failed) after refundDelayMs. */
  refundFails: '4000000000005126',
  /** The simulator's own: the intent stays `processing` for its processingDelayMs. */
  processing: '4000000000007777',
} as const;

/** The payments' PSP policy against the simulator: two attempts, no real backoff. */
export const SIMULATOR_PSP_POLICY = { attemptsMax: 2, timeoutMs: PSP_TIMEOUT_MS, backoffMsBase: 1, backoffMsMax: 2 };

/** One API request in the simulator's log. */
export interface PspApiRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  status: number;
  outcome: string;
}

/** A webhook the simulator delivered: the signed bytes (for handleStripeWebhook) and the event they carry. */
export interface CaughtWebhook {
  event: PspWebhookEvent;
  body: Buffer;
  signature: string;
}

export interface PaymentsSimulator {
  readonly url: string;
  /** The payments' PSP adapter (official SDK) pointed at the simulator. */
  readonly psp: PaymentsPsp;
  /** The official SDK for what the payments' port does not do (reading a session, acting at the PSP directly). */
  readonly stripe: Stripe;
  /** Every webhook delivered so far, in arrival order (signatures verified). */
  readonly webhooks: readonly CaughtWebhook[];
  /** POST (or `method`) to an /__admin endpoint; throws on a non-2xx answer. */
  admin(path: string, body?: unknown, method?: 'POST' | 'DELETE'): Promise<unknown>;
  /** Fault injection (merged into the current faults); `null` clears them all. */
  faults(faults: Record<string, unknown> | null): Promise<void>;
  /** Runtime config (delays, fees), merged. */
  config(config: Record<string, unknown>): Promise<void>;
  /** How many API requests the simulator has answered so far: a mark for apiRequests. */
  apiRequestCount(): Promise<number>;
  /** The API requests answered after `after` (a mark), oldest first; only `method` on `path` if given. */
  apiRequests(filter?: { after?: number; method?: string; path?: string | RegExp }): Promise<PspApiRequest[]>;
  /** The refunds the PSP holds for a payment intent. */
  refundsOf(paymentIntentId: string): Promise<PspRefundState[]>;
  /** The first delivered webhook of `type` about `objectId` (its object or payment intent), waiting for it. */
  webhook(type: string, objectId: string): Promise<CaughtWebhook>;
  stop(): Promise<void>;
}

export interface SimulatorOptions {
  /** Overrides of the simulator's runtime config (refundDelayMs, disputeDelayMs, ...). */
  config?: Record<string, unknown>;
}

async function readAll(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

export async function startPaymentsSimulator(options: SimulatorOptions = {}): Promise<PaymentsSimulator> {
  const deliveries: { body: Buffer; signature: string }[] = [];
  const receiver: Server = createServer((request, response) => {
    void readAll(request).then((body) => {
      deliveries.push({ body, signature: String(request.headers['stripe-signature'] ?? '') });
      response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  const closeReceiver = () =>
    new Promise<void>((resolve) => {
      receiver.close(() => resolve());
      receiver.closeAllConnections();
    });
  const databaseUrl = `${POSTGRES_URL}/clearhouse_test_psp_${randomBytes(6).toString('hex')}`;
  let simulator: { url: string; stop(): Promise<void> };
  try {
    simulator = await simulatorModule.startSimulator({
      port: 0,
      host: '127.0.0.1',
      databaseUrl,
      webhookUrl: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/webhooks/stripe`,
      webhookSecret: WEBHOOK_SECRET,
      logLevel: 'silent',
      config: options.config ?? {},
    });
  } catch (error) {
    await closeReceiver();
    throw error;
  }
  const adapterOptions = { apiKey: API_KEY, apiBase: simulator.url, timeoutMs: PSP_TIMEOUT_MS, webhookSecret: WEBHOOK_SECRET };
  const admin = async (path: string, body?: unknown, method: 'POST' | 'DELETE' = 'POST') => {
    const response = await fetch(`${simulator.url}${path}`, { method, headers: { 'content-type': 'application/json' }, body: method === 'DELETE' ? null : JSON.stringify(body ?? {}) });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return JSON.parse(text) as unknown;
  };
  const apiLog = async () => {
    const response = await fetch(`${simulator.url}/__admin/log?kind=api`);
    return ((await response.json()) as { entries: PspApiRequest[] }).entries;
  };
  const psp = createStripePsp(adapterOptions);
  const webhooks: CaughtWebhook[] = [];
  /** The deliveries so far, each parsed once by the payments' adapter (which verifies its signature). */
  const caught = (): readonly CaughtWebhook[] => {
    for (const delivery of deliveries.slice(webhooks.length)) webhooks.push({ event: psp.parseWebhook(delivery.body, delivery.signature), ...delivery });
    return webhooks;
  };
  return {
    url: simulator.url,
    psp,
    stripe: createPaymentsStripeClient(adapterOptions),
    get webhooks() {
      return caught();
    },
    admin,
    async faults(faults) {
      await (faults === null ? admin('/__admin/faults', null, 'DELETE') : admin('/__admin/faults', faults));
    },
    async config(config) {
      await admin('/__admin/config', config);
    },
    apiRequestCount: async () => (await apiLog()).length,
    async apiRequests({ after = 0, method, path } = {}) {
      const matches = (request: PspApiRequest) =>
        (method === undefined || request.method === method) && (path === undefined || (typeof path === 'string' ? request.path === path : path.test(request.path)));
      return (await apiLog()).slice(after).filter(matches);
    },
    refundsOf: (paymentIntentId) => psp.listRefunds(paymentIntentId),
    async webhook(type, objectId) {
      const about = ({ event }: CaughtWebhook) => event.type === type && (event.objectId === objectId || event.paymentIntentId === objectId);
      return waitFor(async () => caught().find(about), `the ${type} webhook about ${objectId}`, 10_000);
    },
    async stop() {
      await simulator.stop();
      await simulatorDb.dropDatabase(databaseUrl).catch(() => undefined);
      await closeReceiver();
    },
  };
}

/**
 * Posts the hosted payment page's card form like a browser (no redirect followed) and returns the
 * page's status: 200 (a result page), 303 (on to the 3-D Secure challenge or the return URL) or
 * 402 (declined, the form again). Anything else is an error.
 */
export async function payOnHostedPage(checkoutUrl: string, card: string = TEST_CARDS.success): Promise<number> {
  const body = new URLSearchParams({ card_number: card, exp_month: '12', exp_year: String(new Date().getUTCFullYear() + 3), cvc: '123' });
  const response = await fetch(checkoutUrl, { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
  await response.text();
  if (response.status >= 400 && response.status !== 402) throw new Error(`hosted page answered ${response.status}`);
  return response.status;
}

/** The buyer's answer on the 3-D Secure challenge page of a hosted checkout. */
export async function answerChallenge(checkoutUrl: string, approve: boolean): Promise<void> {
  const response = await fetch(`${checkoutUrl}/3ds`, { method: 'POST', body: new URLSearchParams({ approve: approve ? '1' : '0' }), headers: { 'content-type': 'application/x-www-form-urlencoded' }, redirect: 'manual' });
  await response.text();
  if (response.status >= 400 && response.status !== 402) throw new Error(`challenge page answered ${response.status}`);
}

/**
 * A new checkout registered at the PSP, paid on its hosted page with `card` (one that succeeds:
 * success or dispute), then brought in line with the PSP's state of its intent (what its webhook
 * would do): SUCCEEDED.
 */
export async function paidCheckout(deps: PaymentsDeps, caller: Caller, input: CreateCheckoutCommand['input'], card: string = TEST_CARDS.success): Promise<{ paymentId: string; paymentIntentId: string }> {
  const created = await createCheckout(deps, { caller, input });
  const payment = created.paymentId ? await deps.store.findPayment(created.paymentId) : null;
  if (!payment?.checkoutUrl || !payment.pspPaymentIntentId) throw new Error(`checkout not registered at the PSP: ${JSON.stringify(created.userErrors)}`);
  await payOnHostedPage(payment.checkoutUrl, card);
  const outcome = await syncPaymentWithPsp(deps, payment.id, await deps.psp.retrievePaymentIntent(payment.pspPaymentIntentId), 'test');
  if (outcome.kind !== 'changed' || outcome.payment.status !== 'SUCCEEDED') throw new Error(`payment ${payment.id} not SUCCEEDED after paying with ${card}: ${outcome.kind}`);
  return { paymentId: payment.id, paymentIntentId: payment.pspPaymentIntentId };
}
