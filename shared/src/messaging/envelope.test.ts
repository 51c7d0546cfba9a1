import { decodeEnvelope, eventProperties, newEvent, PoisonMessageError } from './envelope.js';
import { consumerTopology, deadLetterQueueName, queueOfDeadLetterQueue, retryQueueDeclaration } from './topology.js';

test('newEvent builds a complete envelope', () => {
  const event = newEvent('payment.succeeded', 2, 'pay_1', { paymentId: 'pay_1' });
  expect(event.messageId).toMatch(/^[0-9a-f-]{36}$/);
  expect(new Date(event.occurredAt).toISOString()).toBe(event.occurredAt);
  expect(event).toMatchObject({ type: 'payment.succeeded', schemaVersion: 2, correlationId: 'pay_1', payload: { paymentId: 'pay_1' } });
  expect(eventProperties(event)).toMatchObject({ messageId: event.messageId, correlationId: 'pay_1', type: 'payment.succeeded', contentType: 'application/json', headers: { 'x-schema-version': 2 } });
  expect(() => newEvent('Payment', 1, 'x', {})).toThrow();
  expect(() => newEvent('payment.succeeded', 0, 'x', {})).toThrow();
});

test('decodeEnvelope accepts parsed, text and byte bodies and rejects poison', () => {
  const event = newEvent('payout.paid', 1, 'po_1', { n: 1 });
  expect(decodeEnvelope(event)).toEqual(event);
  expect(decodeEnvelope(JSON.stringify(event))).toEqual(event);
  expect(decodeEnvelope(Buffer.from(JSON.stringify(event)))).toEqual(event);
  expect(() => decodeEnvelope(Buffer.from('{nope'))).toThrow(PoisonMessageError);
  expect(() => decodeEnvelope({ hello: 'world' })).toThrow(PoisonMessageError);
});

test('topology names derive from the prefix and tiers dead-letter back to their own queue', () => {
  const topology = consumerTopology('clearhouse', 'wallet-projector', ['payment.succeeded'], [1000, 2000]);
  expect(topology).toEqual({
    exchange: 'clearhouse.events',
    queue: 'clearhouse.wallet-projector',
    routingKeys: ['payment.succeeded'],
    retryQueues: [
      { delayMs: 1000, queue: 'clearhouse.wallet-projector.retry.1000ms' },
      { delayMs: 2000, queue: 'clearhouse.wallet-projector.retry.2000ms' },
    ],
    deadLetterQueue: 'clearhouse.wallet-projector.dlq',
  });
  expect(retryQueueDeclaration('clearhouse.wallet-projector', 1000).arguments).toEqual({
    'x-queue-type': 'classic',
    'x-message-ttl': 1000,
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': 'clearhouse.wallet-projector',
  });
  expect(queueOfDeadLetterQueue(deadLetterQueueName('p.q'))).toBe('p.q');
  expect(() => consumerTopology('clearhouse', 'x', [], [1000])).toThrow();
  expect(() => consumerTopology('clearhouse', 'x', ['a.b'], [0])).toThrow();
  expect(() => consumerTopology('Bad Prefix', 'x', ['a.b'])).toThrow();
});
