import type { Connection, Envelope, Publisher } from 'rabbitmq-client';
import { withTimeout, yieldToEventLoop } from './timing.js';

export class UnroutableError extends Error {
  override readonly name = 'UnroutableError';
}

const PUBLISH_TIMEOUT_MS_DEFAULT = 10_000;

type ExchangeDeclaration = { exchange: string; type: string; durable: boolean };

/**
 * A publisher in confirm mode whose publish() resolves only when the broker has accepted the
 * message AND routed it somewhere: with `mandatory`, an unroutable message is returned
 * (basic.return) and then confirmed, so a bare confirm would silently drop it.
 */
export class ConfirmPublisher {
  private readonly publisher: Publisher;
  private readonly returnedMessageIds = new Set<string>();
  private readonly publishTimeoutMs: number;

  constructor(connection: Connection, options: { exchanges?: ExchangeDeclaration[]; publishTimeoutMs?: number } = {}) {
    this.publishTimeoutMs = options.publishTimeoutMs ?? PUBLISH_TIMEOUT_MS_DEFAULT;
    // maxAttempts 1: the callers own retrying (outbox rows, redelivery of the consumed message).
    this.publisher = connection.createPublisher({ confirm: true, maxAttempts: 1, exchanges: options.exchanges ?? [] });
    this.publisher.on('basic.return', (msg) => {
      if (typeof msg.messageId === 'string') this.returnedMessageIds.add(msg.messageId);
    });
  }

  /**
   * `mayBeUnroutable`: the message may legitimately reach no queue (a live-only event nobody
   * watches); it is published without `mandatory` and confirmed like any other.
   */
  async publish(envelope: Envelope & { messageId: string; routingKey: string }, body: Buffer, options: { mayBeUnroutable?: boolean } = {}): Promise<void> {
    if (options.mayBeUnroutable) {
      await withTimeout(this.publisher.send({ ...envelope, mandatory: false }, body), this.publishTimeoutMs, `publish of ${envelope.messageId}`);
      return;
    }
    // A stale entry from an earlier return of the same id must not fail this publish.
    this.returnedMessageIds.delete(envelope.messageId);
    await withTimeout(this.publisher.send({ ...envelope, mandatory: true }, body), this.publishTimeoutMs, `publish of ${envelope.messageId}`);
    // basic.return precedes the confirm on the wire but is emitted on a later tick; one
    // setImmediate after the confirm is enough for it to have been recorded.
    await yieldToEventLoop();
    if (this.returnedMessageIds.delete(envelope.messageId)) {
      throw new UnroutableError(`unroutable: no queue is bound to '${envelope.routingKey}' on '${envelope.exchange || '(default)'}'`);
    }
  }

  close(): Promise<void> {
    return this.publisher.close();
  }
}
