// Delivers events to the webhook endpoint, signed like Stripe
// (`Stripe-Signature: t=<unix>,v1=<hex hmac-sha256(secret, "t.payload")>`), with bounded
// retries and exponential backoff on any non-2xx, timeout or connection error.
import { createHmac } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import type { Logger } from 'pino';
import type { RuntimeConfig } from './config.js';
import type { Job, JobScheduler } from './jobs.js';
import type { RequestLog } from './requestLog.js';
import type { StripeEvent } from './types.js';
import { postJson } from '../http/postJson.js';
import type { Store } from '../store/store.js';
import type { WriteBehind } from '../store/writeBehind.js';

export function signPayload(payload: string, secret: string, timestampSeconds: number): string {
  const signature = createHmac('sha256', secret).update(`${timestampSeconds}.${payload}`, 'utf8').digest('hex');
  return `t=${timestampSeconds},v1=${signature}`;
}

export function retryDelayMs(attempt: number, config: RuntimeConfig): number {
  const exponent = Math.min(attempt - 1, 30);
  return Math.min(config.webhookRetryBaseMs * 2 ** exponent, config.webhookRetryMaxDelayMs);
}

interface DeliveryResult {
  status: number | null;
  error: string | null;
}

export class WebhookDispatcher {
  private inFlight = 0;
  private readonly waiting: (() => void)[] = [];
  private readonly abort = new AbortController();
  private readonly url: URL;

  constructor(
    private readonly deps: {
      store: Store;
      jobs: JobScheduler;
      writer: WriteBehind;
      config: RuntimeConfig;
      log: RequestLog;
      logger: Logger;
      webhookUrl: string;
      webhookSecret: string;
    },
  ) {
    this.url = new URL(deps.webhookUrl);
    // Every in-flight delivery listens on the one stop signal.
    setMaxListeners(0, this.abort.signal);
  }

  stop(): void {
    this.abort.abort();
    for (const wake of this.waiting.splice(0)) wake();
  }

  readonly handle = async (job: Job): Promise<void> => {
    const { store, jobs, writer, config } = this.deps;
    const event = store.get<StripeEvent>(job.data.eventId ?? '', 'event');
    if (!event) {
      jobs.complete(job);
      await writer.flush();
      return;
    }
    await this.acquire();
    let result: DeliveryResult;
    try {
      if (this.abort.signal.aborted) return;
      result = await this.post(event);
    } finally {
      this.release();
    }
    if (this.abort.signal.aborted) return; // stopping: the job stays stored and runs after restart
    const attempt = job.attempt + 1;
    const delivered = result.status !== null && result.status >= 200 && result.status < 300;
    const giveUp = !delivered && attempt >= config.webhookMaxAttempts;
    const nextDelayMs = delivered || giveUp ? null : retryDelayMs(attempt, config);
    if (nextDelayMs === null) jobs.complete(job);
    else jobs.schedule(job.kind, nextDelayMs, job.data, { ...job, attempt });
    this.record(event, job, attempt, result, delivered ? 'delivered' : giveUp ? 'gave_up' : 'failed', nextDelayMs);
    await writer.flush();
  };

  private async post(event: StripeEvent): Promise<DeliveryResult> {
    const payload = JSON.stringify(event, null, 2);
    const signature = signPayload(payload, this.deps.webhookSecret, Math.floor(Date.now() / 1000));
    try {
      const headers = {
        'content-type': 'application/json; charset=utf-8',
        'stripe-signature': signature,
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      };
      const { status } = await postJson(this.url, payload, headers, this.deps.config.webhookTimeoutMs, this.abort.signal);
      return { status, error: status >= 200 && status < 300 ? null : `HTTP ${status}` };
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      return { status: null, error: error instanceof Error ? `${error.message}${code ? ` (${code})` : ''}` : String(error) };
    }
  }

  private record(event: StripeEvent, job: Job, attempt: number, result: DeliveryResult, outcome: 'delivered' | 'failed' | 'gave_up', nextAttemptInMs: number | null): void {
    this.deps.log.add({
      kind: 'webhook',
      at: new Date().toISOString(),
      eventId: event.id,
      type: event.type,
      deliveryId: job.id,
      attempt,
      status: result.status,
      outcome,
      error: result.error,
      nextAttemptInMs,
    });
    if (outcome !== 'delivered') {
      this.deps.logger.warn({ eventId: event.id, type: event.type, attempt, status: result.status, error: result.error }, 'webhook delivery failed');
    }
  }

  private async acquire(): Promise<void> {
    const waitsMax = 1_000_000;
    for (let waits = 0; this.inFlight >= this.deps.config.webhookConcurrency && waits < waitsMax; waits++) {
      if (this.abort.signal.aborted) break;
      await new Promise<void>((wake) => this.waiting.push(wake));
    }
    this.inFlight++;
  }

  private release(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }
}
