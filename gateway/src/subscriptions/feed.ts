// Feeds the subscription bus from RabbitMQ: each gateway instance has its own exclusive,
// auto-deleted queue for the events that change what clients subscribe to, so every instance
// sees every update (subscriptions are live views, not work to share). The queue is bound to
// those events only while a subscription on this instance needs them (see demand()): most of the
// time nobody is subscribed, and the broker then need not route and deliver them here at all.
// These queues are the only ones bound to these routing keys: the outbox relays publish them
// without `mandatory` (LIVE_ONLY_EVENT_TYPES in @clearhouse/shared), so an event nobody watches is
// routed nowhere instead of failing its publish.
import { randomUUID } from 'node:crypto';
import type { Connection, Consumer } from 'rabbitmq-client';
import { decodeEnvelope, eventsExchangeName, paymentStatusChangedV1, walletBalanceChangedV1, type Logger } from '@clearhouse/shared';
import type { TopicBus } from './event-bus.js';

export interface SubscriptionEvent {
  readonly type: 'payment.status_changed' | 'wallet.balance_changed';
  readonly payload: Record<string, unknown>;
}

export const SUBSCRIPTION_ROUTING_KEYS: readonly SubscriptionEvent['type'][] = ['payment.status_changed', 'wallet.balance_changed'];

/** How long the bindings outlive the last subscription: a client that resubscribes at once (a page reload) must not cost an unbind and a bind. */
export const DEMAND_LINGER_MS_DEFAULT = 30_000;
/** Bound on the wait of a new subscription for the bindings (or for the queue, while the broker reconnects). */
export const BIND_TIMEOUT_MS_DEFAULT = 10_000;

export function paymentTopic(paymentId: string): string {
  return `payment:${paymentId}`;
}

export function sellerTopic(sellerId: string): string {
  return `seller:${sellerId}`;
}

/** Releases one demand; calling it again does nothing. */
export type ReleaseDemand = () => void;

/** What a subscription needs from the feed: the events flowing while it is open. */
export interface SubscriptionDemand {
  demand(): Promise<ReleaseDemand>;
}

/** The broker could not (or no longer) deliver the subscription events to this instance. */
export class SubscriptionFeedUnavailableError extends Error {
  override readonly name = 'SubscriptionFeedUnavailableError';
}

export interface SubscriptionFeedOptions {
  readonly connection: Connection;
  readonly brokerPrefix: string;
  readonly bus: TopicBus<SubscriptionEvent>;
  readonly logger: Logger;
  readonly lingerMs?: number;
  readonly bindTimeoutMs?: number;
}

/** 'unknown': a bind or unbind failed half-way, or the queue was re-declared; the next reconcile redoes it (both are idempotent). */
type BindingState = 'unbound' | 'bound' | 'unknown';

export class SubscriptionFeed implements SubscriptionDemand {
  readonly queue: string;
  readonly consumer: Consumer;
  /** Counters for tests and diagnostics. */
  readonly stats = { delivered: 0, binds: 0, unbinds: 0 };

  private readonly exchange: string;
  private readonly connection: Connection;
  private readonly logger: Logger;
  private readonly lingerMs: number;
  private readonly bindTimeoutMs: number;
  private holders = 0;
  private lingerTimer: NodeJS.Timeout | null = null;
  private state: BindingState = 'unbound';
  /** Incremented on every (re)setup of the consumer, i.e. every (re)declaration of the queue. */
  private generation = 0;
  /** Bind and unbind run one at a time, in order, so they never race. */
  private operations: Promise<void> = Promise.resolve();
  /** The bind that demands arriving meanwhile share, instead of queueing binds of their own. */
  private binding: Promise<void> | null = null;
  private closed = false;
  private readonly closing = new AbortController();

  constructor(options: SubscriptionFeedOptions) {
    this.connection = options.connection;
    this.logger = options.logger;
    this.lingerMs = options.lingerMs ?? DEMAND_LINGER_MS_DEFAULT;
    this.bindTimeoutMs = options.bindTimeoutMs ?? BIND_TIMEOUT_MS_DEFAULT;
    this.exchange = eventsExchangeName(options.brokerPrefix);
    this.queue = `${options.brokerPrefix}.gateway.subscriptions.${randomUUID()}`;
    const bus = options.bus;
    this.consumer = options.connection.createConsumer(
      {
        queue: this.queue,
        queueOptions: { exclusive: true, autoDelete: true, durable: false },
        exchanges: [{ exchange: this.exchange, type: 'topic', durable: true }],
        // No queueBindings: demand() binds while subscriptions need the events.
        qos: { prefetchCount: 200 },
        noAck: true,
      },
      async (message) => {
        this.stats.delivered++;
        // Nobody subscribed on this instance (e.g. within the linger): publishing would reach no one, so skip the decoding.
        if (bus.topicCount() === 0) return;
        try {
          const event = decodeEnvelope(message.body);
          if (event.type === 'payment.status_changed') {
            const payload = paymentStatusChangedV1.parse(event.payload);
            bus.publish(paymentTopic(payload.paymentId), { type: 'payment.status_changed', payload: { ...payload } });
          } else if (event.type === 'wallet.balance_changed') {
            const payload = walletBalanceChangedV1.parse(event.payload);
            bus.publish(sellerTopic(payload.sellerId), { type: 'wallet.balance_changed', payload: { ...payload } });
          }
        } catch (error) {
          this.logger.warn({ err: error }, 'ignored an undecodable subscription event');
        }
      },
    );
    this.consumer.on('error', (error) => this.logger.warn({ err: error }, 'subscription feed error'));
    // The Consumer emits 'ready' after each (re)setup, which re-declares the queue: after a
    // reconnect (or a channel reset: the auto-delete queue goes with its consumer) it is a new
    // queue without bindings. Bind again if they are wanted; if not, unbind anyway in case the
    // queue survived (RabbitMQ answers the unbind of a missing binding with unbind-ok).
    this.consumer.on('ready', () => {
      this.generation++;
      if (this.state !== 'unbound') this.state = 'unknown';
      if (this.state === 'unknown' || this.wanted()) this.reconcileInBackground('re-binding after the queue was re-declared');
    });
  }

  /**
   * Holds the bindings for as long as the caller needs the events; resolves once they are in
   * place, so an event published after it resolves reaches the bus. Rejects with
   * SubscriptionFeedUnavailableError when the broker does not bind within bindTimeoutMs (the
   * demand is then not held). The first demand binds; the last release unbinds after lingerMs
   * unless another demand arrives meanwhile.
   */
  async demand(): Promise<ReleaseDemand> {
    if (this.closed) throw new SubscriptionFeedUnavailableError('the subscription feed is closed');
    this.holders++;
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = null;
    }
    try {
      await this.withTimeout(this.ensureBound());
    } catch (error) {
      this.releaseOne();
      throw error instanceof SubscriptionFeedUnavailableError ? error : new SubscriptionFeedUnavailableError(`could not bind the subscription queue: ${messageOf(error)}`, { cause: error });
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.releaseOne();
    };
  }

  /** Demands currently held (for tests and diagnostics). */
  get demands(): number {
    return this.holders;
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.lingerTimer) clearTimeout(this.lingerTimer);
    this.lingerTimer = null;
    this.closing.abort();
    // No unbind: the queue is auto-deleted with its consumer, bindings and all.
    await this.consumer.close();
  }

  private wanted(): boolean {
    return this.holders > 0 || this.lingerTimer !== null;
  }

  /** The Consumer clears its queue name when its channel closes and sets it again once the queue is declared. */
  private queueDeclared(): boolean {
    return this.consumer.queue !== '';
  }

  private ensureBound(): Promise<void> {
    if (this.state === 'bound' && this.queueDeclared()) return Promise.resolve();
    this.binding ??= this.reconcile().finally(() => {
      this.binding = null;
    });
    return this.binding;
  }

  private releaseOne(): void {
    this.holders--;
    if (this.holders > 0 || this.closed) return;
    this.lingerTimer = setTimeout(() => {
      this.lingerTimer = null;
      if (!this.wanted()) this.reconcileInBackground('unbinding after the last subscription');
    }, this.lingerMs);
    // A pending unbind must not keep the process alive.
    this.lingerTimer.unref();
  }

  private reconcileInBackground(what: string): void {
    if (this.closed) return;
    this.reconcile().catch((error: unknown) => {
      if (!this.closed) this.logger.warn({ err: error, queue: this.queue }, `subscription feed: ${what} failed`);
    });
  }

  /** Queues one step towards the wanted state, evaluated when it runs (so a stale request is a no-op). */
  private reconcile(): Promise<void> {
    const step = this.operations.then(() => this.converge());
    this.operations = step.catch(() => undefined);
    return step;
  }

  private async converge(): Promise<void> {
    if (this.closed) throw new SubscriptionFeedUnavailableError('the subscription feed is closed');
    if (this.wanted()) {
      if (this.state === 'bound' && this.queueDeclared()) return;
      // Binding to a queue that is not (yet, or no longer) declared would fail with NOT_FOUND.
      if (!this.queueDeclared()) await this.nextReady();
      const generation = this.generation;
      this.state = 'unknown';
      for (const routingKey of SUBSCRIPTION_ROUTING_KEYS) {
        await this.connection.queueBind({ queue: this.queue, exchange: this.exchange, routingKey });
      }
      // Re-declared meanwhile: the 'ready' handler has queued another step, which binds the new queue.
      if (generation === this.generation) this.state = 'bound';
      this.stats.binds++;
    } else if (this.state !== 'unbound') {
      // The queue is being re-declared: nothing to unbind now; 'ready' queues a step that does if need be.
      if (!this.queueDeclared()) {
        this.state = 'unknown';
        return;
      }
      this.state = 'unknown';
      for (const routingKey of SUBSCRIPTION_ROUTING_KEYS) {
        await this.connection.queueUnbind({ queue: this.queue, exchange: this.exchange, routingKey });
      }
      this.state = 'unbound';
      this.stats.unbinds++;
    }
  }

  /** The Consumer's next 'ready', bounded so that a broker outage fails the step instead of blocking every later one. */
  private nextReady(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (error?: Error) => {
        clearTimeout(timer);
        this.consumer.off('ready', onReady);
        this.closing.signal.removeEventListener('abort', onClose);
        if (error) reject(error);
        else resolve();
      };
      const onReady = () => done();
      const onClose = () => done(new SubscriptionFeedUnavailableError('the subscription feed is closed'));
      const timer = setTimeout(
        () => done(new SubscriptionFeedUnavailableError(`the subscription queue was not declared within ${this.bindTimeoutMs} ms (is the broker reachable?)`)),
        this.bindTimeoutMs,
      );
      this.consumer.on('ready', onReady);
      this.closing.signal.addEventListener('abort', onClose);
    });
  }

  /** A demand waits at most bindTimeoutMs; the step itself runs on (a late bind is harmless: the linger unbinds it). */
  private withTimeout(promise: Promise<void>): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new SubscriptionFeedUnavailableError(`the subscription queue was not bound within ${this.bindTimeoutMs} ms (is the broker reachable?)`)),
        this.bindTimeoutMs,
      );
      promise.then(
        () => {
          clearTimeout(timer);
          resolve();
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error instanceof Error ? error : new Error(String(error)));
        },
      );
    });
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function startSubscriptionFeed(options: SubscriptionFeedOptions): SubscriptionFeed {
  return new SubscriptionFeed(options);
}
