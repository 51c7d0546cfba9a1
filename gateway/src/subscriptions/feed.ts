// Feeds the subscription bus from RabbitMQ: each gateway instance has its own exclusive,
// auto-deleted queue bound to the events that change what clients subscribe to, so every
// instance sees every update (subscriptions are live views, not work to share).
import { randomUUID } from 'node:crypto';
import type { Connection, Consumer } from 'rabbitmq-client';
import { decodeEnvelope, eventsExchangeName, paymentStatusChangedV1, walletBalanceChangedV1, type Logger } from '@clearhouse/shared';
import type { TopicBus } from './event-bus.js';

export interface SubscriptionEvent {
  readonly type: 'payment.status_changed' | 'wallet.balance_changed';
  readonly payload: Record<string, unknown>;
}

export function paymentTopic(paymentId: string): string {
  return `payment:${paymentId}`;
}

export function sellerTopic(sellerId: string): string {
  return `seller:${sellerId}`;
}

export function startSubscriptionFeed(options: { connection: Connection; brokerPrefix: string; bus: TopicBus<SubscriptionEvent>; logger: Logger }): Consumer {
  const exchange = eventsExchangeName(options.brokerPrefix);
  const queue = `${options.brokerPrefix}.gateway.subscriptions.${randomUUID()}`;
  const consumer = options.connection.createConsumer(
    {
      queue,
      queueOptions: { exclusive: true, autoDelete: true, durable: false },
      exchanges: [{ exchange, type: 'topic', durable: true }],
      queueBindings: [
        { exchange, queue, routingKey: 'payment.status_changed' },
        { exchange, queue, routingKey: 'wallet.balance_changed' },
      ],
      qos: { prefetchCount: 200 },
      noAck: true,
    },
    async (message) => {
      // Nobody subscribed on this instance: publishing would reach no one, so skip the decoding.
      if (options.bus.topicCount() === 0) return;
      try {
        const event = decodeEnvelope(message.body);
        if (event.type === 'payment.status_changed') {
          const payload = paymentStatusChangedV1.parse(event.payload);
          options.bus.publish(paymentTopic(payload.paymentId), { type: 'payment.status_changed', payload: { ...payload } });
        } else if (event.type === 'wallet.balance_changed') {
          const payload = walletBalanceChangedV1.parse(event.payload);
          options.bus.publish(sellerTopic(payload.sellerId), { type: 'wallet.balance_changed', payload: { ...payload } });
        }
      } catch (error) {
        options.logger.warn({ err: error }, 'ignored an undecodable subscription event');
      }
    },
  );
  consumer.on('error', (error) => options.logger.warn({ err: error }, 'subscription feed error'));
  return consumer;
}
