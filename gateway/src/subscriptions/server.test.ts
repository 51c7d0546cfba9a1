// The lifetime of a subscription's feed demand: taken (the queue bound) before the iterator is
// returned, released when the client ends the subscription, however it ends. The broker side of
// demand() is feed.test.ts's; here a counting stand-in is enough.
import { buildSchema, parse, type ExecutionResult } from 'graphql';
import { createLogger } from '@clearhouse/shared';
import { TopicBus } from './event-bus.js';
import { paymentTopic, SubscriptionFeedUnavailableError, type ReleaseDemand, type SubscriptionDemand, type SubscriptionEvent } from './feed.js';
import { subscribeThroughGateway } from './server.js';

const schema = buildSchema(`
  type Payment { id: ID! status: String! }
  type Query { payment(id: ID!): Payment }
  type Subscription { paymentUpdated(paymentId: ID!): Payment }
`);
const document = parse(`subscription($id: ID!) { paymentUpdated(paymentId: $id) { id status } }`);

/** demand() resolves or rejects only when the test says so. */
class ManualFeed implements SubscriptionDemand {
  held = 0;
  requested = 0;
  private pending: { resolve: (release: ReleaseDemand) => void; reject: (error: Error) => void }[] = [];

  demand(): Promise<ReleaseDemand> {
    this.requested++;
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  grant(): void {
    this.held++;
    let released = false;
    this.pending.shift()?.resolve(() => {
      if (released) return;
      released = true;
      this.held--;
    });
  }

  refuse(): void {
    this.pending.shift()?.reject(new SubscriptionFeedUnavailableError('the subscription queue was not bound within 10 ms'));
  }
}

function setup(visible = true) {
  const bus = new TopicBus<SubscriptionEvent>();
  const feed = new ManualFeed();
  let queries = 0;
  const contextValue = {
    caller: { role: 'platform', keyId: 'k1', sellerId: null },
    correlationId: 'c1',
    logger: createLogger({ service: 'test', level: 'silent' }),
    execute: async (): Promise<ExecutionResult> => {
      queries++;
      return { data: { paymentUpdated: visible ? { id: 'pay_1', status: 'PROCESSING' } : null } };
    },
  };
  const subscribe = () => subscribeThroughGateway({ schema, document, variableValues: { id: 'pay_1' }, contextValue }, bus, feed);
  return { bus, feed, subscribe, queries: () => queries };
}

async function settled<T>(promise: Promise<T>, ms = 200): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);
}

function asIterator(result: unknown): AsyncIterableIterator<ExecutionResult> {
  if (!result || typeof result !== 'object' || !(Symbol.asyncIterator in result)) throw new Error(`expected an iterator, got ${JSON.stringify(result)}`);
  return result as AsyncIterableIterator<ExecutionResult>;
}

test('the iterator is returned only once the demand is held, and the client ending the subscription releases it at once', async () => {
  const { bus, feed, subscribe } = setup();
  const subscribing = Promise.resolve(subscribe());
  expect(await settled(subscribing, 50)).toBe('pending');
  expect(feed.requested).toBe(1);
  // Already listening: what the feed delivers once bound is buffered, not lost.
  expect(bus.topicCount()).toBe(1);
  feed.grant();
  const iterator = asIterator(await subscribing);
  expect(feed.held).toBe(1);

  bus.publish(paymentTopic('pay_1'), { type: 'payment.status_changed', payload: { paymentId: 'pay_1', to: 'SUCCEEDED' } });
  const update = await iterator.next();
  expect(update.value).toEqual({ data: { paymentUpdated: { id: 'pay_1', status: 'SUCCEEDED' } } });

  // Waiting for an event that may never come: return() must not wait for it.
  const waiting = iterator.next();
  expect(await settled(iterator.return!(), 500)).toEqual({ value: undefined, done: true });
  expect(await waiting).toEqual({ value: undefined, done: true });
  expect(feed.held).toBe(0);
  expect(bus.topicCount()).toBe(0);
});

test('a subscription ended before it was ever iterated releases its demand', async () => {
  const { bus, feed, subscribe } = setup();
  const subscribing = Promise.resolve(subscribe());
  await settled(subscribing, 20);
  feed.grant();
  const iterator = asIterator(await subscribing);
  await iterator.return!();
  expect(feed.held).toBe(0);
  expect(bus.topicCount()).toBe(0);
});

test('when the feed cannot bind, the subscription fails with SERVICE_UNAVAILABLE and holds nothing', async () => {
  const { bus, feed, subscribe } = setup();
  const subscribing = Promise.resolve(subscribe());
  await settled(subscribing, 20);
  feed.refuse();
  const result = (await subscribing) as ExecutionResult;
  expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'SERVICE_UNAVAILABLE' });
  expect(feed.held).toBe(0);
  expect(bus.topicCount()).toBe(0);
});

test('a subscription to what the caller may not see takes no demand', async () => {
  const { bus, feed, subscribe, queries } = setup(false);
  const result = (await subscribe()) as ExecutionResult;
  expect(result.errors?.[0]?.extensions).toMatchObject({ code: 'FORBIDDEN' });
  expect(queries()).toBe(1);
  expect(feed.requested).toBe(0);
  expect(bus.topicCount()).toBe(0);
});
