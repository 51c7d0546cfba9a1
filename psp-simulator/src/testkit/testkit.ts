// Test harness: a real simulator on an ephemeral port with its own database, the official
// stripe SDK as the client, and a local webhook receiver that verifies every signature with
// stripe.webhooks.constructEvent.
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import pino from 'pino';
import Stripe from 'stripe';
import type { RuntimeConfig } from '../core/config.js';
import { startSimulator, type RunningSimulator } from '../server.js';
import { dropDatabase } from '../store/db.js';

export const webhookSecret = 'whsec_test_secret';
const postgresUrl = process.env.POSTGRES_URL ?? 'postgresql://postgres@127.0.0.1:5432';

export type StripeClient = InstanceType<typeof Stripe>;
export type StripeEventPayload = ReturnType<StripeClient['webhooks']['constructEvent']>;

export interface ReceivedDelivery {
  event: StripeEventPayload;
  atMs: number;
  status: number;
}

/** Collects verified webhook deliveries; `respond` decides the HTTP status per delivery. */
export class WebhookReceiver {
  readonly deliveries: ReceivedDelivery[] = [];
  readonly rejectedSignatures: string[] = [];
  respond: (event: StripeEventPayload, attempt: number) => number = () => 200;
  private server: Server | undefined;
  url = '';

  constructor(private readonly stripe: StripeClient) {}

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      void readAll(request).then((body) => {
        const status = this.receive(body, String(request.headers['stripe-signature'] ?? ''));
        response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/webhooks/stripe`;
  }

  private receive(body: string, signature: string): number {
    let event: StripeEventPayload;
    try {
      event = this.stripe.webhooks.constructEvent(body, signature, webhookSecret);
    } catch (error) {
      this.rejectedSignatures.push(String(error));
      return 400;
    }
    const attempt = this.deliveries.filter((delivery) => delivery.event.id === event.id).length + 1;
    const status = this.respond(event, attempt);
    this.deliveries.push({ event, atMs: Date.now(), status });
    return status;
  }

  /** Events answered 2xx, in arrival order. */
  accepted(type?: string): StripeEventPayload[] {
    return this.deliveries.filter((delivery) => delivery.status < 300 && (!type || delivery.event.type === type)).map((delivery) => delivery.event);
  }

  async waitFor(predicate: (event: StripeEventPayload) => boolean, timeoutMs = 5000): Promise<StripeEventPayload> {
    return poll(() => this.accepted().find(predicate), timeoutMs, 'webhook event');
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => {
      if (!this.server) return resolve();
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }
}

async function readAll(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function poll<T>(probe: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  const intervalMs = 20;
  for (let tries = 0; tries < timeoutMs / intervalMs + 2; tries++) {
    const found = await probe();
    if (found !== undefined) return found;
    if (Date.now() > deadline) break;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

/** Fast delays for tests. */
export const fastConfig: Partial<RuntimeConfig> = {
  payoutDelayMs: 60,
  disputeDelayMs: 60,
  refundDelayMs: 20,
  processingDelayMs: 150,
  webhookRetryBaseMs: 50,
  webhookRetryMaxDelayMs: 400,
  webhookMaxAttempts: 5,
  webhookTimeoutMs: 2000,
  shuffleWindowMs: 300,
  apiTimeoutHangMs: 3000,
};

export interface TestSimulator {
  url: string;
  port: number;
  stripe: StripeClient;
  webhooks: WebhookReceiver;
  databaseUrl: string;
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<{ status: number; json: T }>;
  restart(): Promise<void>;
  stopSimulator(): Promise<void>;
  stop(): Promise<void>;
}

export function stripeClient(port: number, options: { maxNetworkRetries?: number; timeoutMs?: number } = {}): StripeClient {
  return new Stripe('sk_test_clearhouse', {
    host: '127.0.0.1',
    port,
    protocol: 'http',
    maxNetworkRetries: options.maxNetworkRetries ?? 0,
    timeout: options.timeoutMs ?? 10_000,
  });
}

export async function startTestSimulator(options: { config?: Partial<RuntimeConfig>; webhookEvents?: readonly string[] } = {}): Promise<TestSimulator> {
  const databaseUrl = `${postgresUrl}/clearhouse_test_psp_${randomBytes(6).toString('hex')}`;
  const signingClient = new Stripe('sk_test_clearhouse');
  const webhooks = new WebhookReceiver(signingClient);
  await webhooks.start();
  const launch = (port: number) =>
    startSimulator({
      port,
      host: '127.0.0.1',
      databaseUrl,
      webhookUrl: webhooks.url,
      webhookEvents: options.webhookEvents,
      webhookSecret,
      config: { ...fastConfig, ...options.config },
      logger: pino({ level: process.env.PSP_TEST_LOG_LEVEL ?? 'silent' }),
    });
  let running: RunningSimulator | undefined = await launch(0);
  const port = running.port;
  const test: TestSimulator = {
    url: running.url,
    port,
    stripe: stripeClient(port),
    webhooks,
    databaseUrl,
    async admin<T>(method: string, path: string, body?: unknown) {
      const response = await fetch(`${test.url}${path}`, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, json: (text.startsWith('{') || text.startsWith('[') ? JSON.parse(text) : text) as T };
    },
    async stopSimulator() {
      await running?.stop();
      running = undefined;
    },
    async restart() {
      await running?.stop();
      running = await launch(port);
    },
    async stop() {
      await running?.stop();
      running = undefined;
      await webhooks.stop();
      await dropDatabase(databaseUrl);
    },
  };
  return test;
}

/** Posts the hosted page's card form like a browser (no redirects followed). */
export async function payOnPage(pageUrl: string, card: string, fields: Partial<Record<'exp_month' | 'exp_year' | 'cvc', string>> = {}): Promise<Response> {
  const form = new URLSearchParams({ card_number: card, exp_month: '12', exp_year: String(new Date().getUTCFullYear() + 2), cvc: '123', ...fields });
  return fetch(pageUrl, { method: 'POST', body: form, redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
}

export async function answerChallenge(challengeUrl: string, approve: boolean): Promise<Response> {
  return fetch(challengeUrl, { method: 'POST', body: new URLSearchParams({ approve: approve ? '1' : '0' }), redirect: 'manual' });
}
