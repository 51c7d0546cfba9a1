import type { Connection, SyncMessage } from 'rabbitmq-client';
import {
  HEADER_ATTEMPT, HEADER_ATTEMPTS, HEADER_ERROR, HEADER_FAILED_AT, HEADER_QUEUE, HEADER_REPLAYED_AT,
} from './envelope.js';
import { ConfirmPublisher } from './publisher.js';
import type { AttemptRecord } from './retry.js';
import { originalRoutingKey, rawBody, readHistory, republishEnvelope } from './retry.js';
import { queueOfDeadLetterQueue } from './topology.js';

export interface DeadLetter {
  /** The dead-letter queue holding it. */
  deadLetterQueue: string;
  /** The work queue it failed in (where a replay sends it). */
  queue: string;
  messageId: string | undefined;
  correlationId: string | undefined;
  type: string | undefined;
  routingKey: string;
  error: string | undefined;
  attempts: number | undefined;
  failedAt: string | undefined;
  history: AttemptRecord[];
  headers: Record<string, unknown>;
  /** The parsed JSON body, or the raw text when it is not JSON (poison). */
  body: unknown;
}

/** Hard bound on how many messages one operator command walks through. */
export const DEAD_LETTER_SCAN_MAX = 10_000;

/** Parked by the broker (the work queue's delivery limit), not by the kit: say so. */
function brokerDeadLetterReason(headers: Record<string, unknown>): string | undefined {
  const reason = headers['x-first-death-reason'];
  return typeof reason === 'string' ? `parked by the broker: ${reason} (redelivered too often; did the consumer crash on it?)` : undefined;
}

function toDeadLetter(deadLetterQueue: string, msg: SyncMessage): DeadLetter {
  const headers = (msg.headers ?? {}) as Record<string, unknown>;
  let body: unknown = msg.body;
  if (Buffer.isBuffer(body)) {
    const text = body.toString('utf8');
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  const attempts = Number(headers[HEADER_ATTEMPTS]);
  return {
    deadLetterQueue,
    queue: typeof headers[HEADER_QUEUE] === 'string' ? (headers[HEADER_QUEUE] as string) : queueOfDeadLetterQueue(deadLetterQueue),
    messageId: msg.messageId,
    correlationId: msg.correlationId,
    type: msg.type,
    routingKey: originalRoutingKey(msg),
    error: typeof headers[HEADER_ERROR] === 'string' ? (headers[HEADER_ERROR] as string) : brokerDeadLetterReason(headers),
    attempts: Number.isFinite(attempts) ? attempts : undefined,
    failedAt: typeof headers[HEADER_FAILED_AT] === 'string' ? (headers[HEADER_FAILED_AT] as string) : undefined,
    history: readHistory(headers),
    headers,
    body,
  };
}

/** Messages waiting in a queue (passive declare: fails if the queue does not exist). */
export async function queueDepth(connection: Connection, queue: string): Promise<number> {
  const { messageCount } = await connection.queueDeclare({ queue, passive: true });
  return messageCount;
}

interface Verdict {
  /** Remove it from the DLQ (it was replayed); otherwise it goes back. */
  ack: boolean;
  /** Nothing more to look for. */
  stop: boolean;
}

/** How long a walk waits for the broker to show the messages it returned (see walkDeadLetterQueue). */
const REQUEUE_VISIBLE_WAIT_MS = 5_000;
const REQUEUE_POLL_MS = 20;

/**
 * Walks a DLQ with basic.get WITHOUT acking, hands each message to `visit`, and finally
 * returns every message it did not ack to the queue (nack, requeue). Peeking thus never loses
 * a message; a crash mid-walk closes the channel, which requeues them too.
 *
 * It returns once the queue shows the returned messages again. The broker requeues them
 * asynchronously, and a busy queue answers a depth query (queue.declare's message count, a
 * prioritised call in RabbitMQ's queue process) before it has handled the requeue: without the
 * wait, a listing, a replay or the next walk right after one could see them missing, and a
 * walk sizes its scan by that count. Bounded: if the count never comes back (another client took
 * messages meanwhile), it returns after REQUEUE_VISIBLE_WAIT_MS; nothing is lost either way.
 */
async function walkDeadLetterQueue(
  connection: Connection,
  deadLetterQueue: string,
  limit: number,
  visit: (msg: SyncMessage) => Promise<Verdict>,
): Promise<void> {
  const depthAtStart = await queueDepth(connection, deadLetterQueue);
  const scanMax = Math.min(limit, depthAtStart, DEAD_LETTER_SCAN_MAX);
  let acked = 0;
  let returned = 0;
  const channel = await connection.acquire();
  try {
    let lastUnackedTag: number | undefined;
    for (let scanned = 0; scanned < scanMax; scanned++) {
      const msg = await channel.basicGet({ queue: deadLetterQueue, noAck: false });
      if (!msg) break;
      const verdict = await visit(msg);
      if (verdict.ack) {
        channel.basicAck({ deliveryTag: msg.deliveryTag });
        acked++;
      } else {
        lastUnackedTag = msg.deliveryTag;
        returned++;
      }
      if (verdict.stop) break;
    }
    if (lastUnackedTag !== undefined) channel.basicNack({ deliveryTag: lastUnackedTag, multiple: true, requeue: true });
  } finally {
    await channel.close();
  }
  if (returned > 0) await untilDepthAtLeast(connection, deadLetterQueue, depthAtStart - acked);
}

async function untilDepthAtLeast(connection: Connection, queue: string, depth: number): Promise<void> {
  const deadline = Date.now() + REQUEUE_VISIBLE_WAIT_MS;
  while ((await queueDepth(connection, queue)) < depth && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, REQUEUE_POLL_MS));
  }
}

export async function listDeadLetters(options: { connection: Connection; deadLetterQueue: string; limit?: number }): Promise<DeadLetter[]> {
  const found: DeadLetter[] = [];
  await walkDeadLetterQueue(options.connection, options.deadLetterQueue, options.limit ?? 50, async (msg) => {
    found.push(toDeadLetter(options.deadLetterQueue, msg));
    return { ack: false, stop: false };
  });
  return found;
}

/** Finds one dead letter by message id in the given DLQs (first match). */
export async function showDeadLetter(options: { connection: Connection; deadLetterQueues: readonly string[]; messageId: string }): Promise<DeadLetter | undefined> {
  for (const deadLetterQueue of options.deadLetterQueues) {
    let match: DeadLetter | undefined;
    await walkDeadLetterQueue(options.connection, deadLetterQueue, DEAD_LETTER_SCAN_MAX, async (msg) => {
      if (msg.messageId !== options.messageId) return { ack: false, stop: false };
      match = toDeadLetter(deadLetterQueue, msg);
      return { ack: false, stop: true };
    });
    if (match) return match;
  }
  return undefined;
}

export interface ReplayResult {
  deadLetterQueue: string;
  replayed: { messageId: string | undefined; queue: string }[];
}

/**
 * Sends dead letters back to their work queue (default exchange, so only that consumer sees
 * them) with the attempt count reset; each is acked in the DLQ only after the broker confirmed
 * the republish, so a failure in between duplicates at worst (consumers are idempotent).
 */
export async function replayDeadLetters(options: {
  connection: Connection;
  deadLetterQueue: string;
  /** Message ids to replay, or 'all'. */
  messageIds: readonly string[] | 'all';
  limit?: number;
}): Promise<ReplayResult> {
  const { connection, deadLetterQueue } = options;
  const wanted = options.messageIds === 'all' ? undefined : new Set(options.messageIds);
  const publisher = new ConfirmPublisher(connection);
  const replayed: ReplayResult['replayed'] = [];
  try {
    await walkDeadLetterQueue(connection, deadLetterQueue, options.limit ?? DEAD_LETTER_SCAN_MAX, async (msg) => {
      if (wanted && (msg.messageId === undefined || !wanted.has(msg.messageId))) return { ack: false, stop: false };
      const letter = toDeadLetter(deadLetterQueue, msg);
      const envelope = republishEnvelope(msg, letter.queue, { [HEADER_ATTEMPT]: 1, [HEADER_REPLAYED_AT]: new Date().toISOString() });
      for (const header of [HEADER_ERROR, HEADER_ATTEMPTS, HEADER_FAILED_AT, HEADER_QUEUE]) delete envelope.headers?.[header];
      await publisher.publish(envelope, rawBody(msg.body));
      replayed.push({ messageId: msg.messageId, queue: letter.queue });
      if (wanted && msg.messageId !== undefined) wanted.delete(msg.messageId);
      return { ack: true, stop: wanted !== undefined && wanted.size === 0 };
    });
  } finally {
    await publisher.close();
  }
  return { deadLetterQueue, replayed };
}
