import { randomUUID } from 'node:crypto';
import type { AsyncMessage, Envelope } from 'rabbitmq-client';
import {
  HEADER_ATTEMPT, HEADER_ATTEMPTS, HEADER_ERROR, HEADER_FAILED_AT, HEADER_HISTORY, HEADER_QUEUE, HEADER_ROUTING_KEY,
} from './envelope.js';

// The attempt count and history travel in our own headers rather than RabbitMQ's `x-death`:
// x-death counts per (queue, reason) and is rewritten by the broker, so it cannot tell "third
// attempt" reliably once a message has been through several tiers or replayed.

export interface AttemptRecord {
  attempt: number;
  error: string;
  at: string;
}

/** Bound on the history carried in a header (replays append to it). */
const HISTORY_ENTRIES_MAX = 20;
const ATTEMPT_MAX = 1000;

/** Broker-added headers that must not be copied onto a republished message. */
const BROKER_HEADERS = ['x-death', 'x-first-death-exchange', 'x-first-death-queue', 'x-first-death-reason', 'x-last-death-exchange', 'x-last-death-queue', 'x-last-death-reason', 'x-delivery-count'];

export function readAttempt(headers: Record<string, unknown> | undefined): number {
  const value = Number(headers?.[HEADER_ATTEMPT] ?? 1);
  return Number.isInteger(value) && value >= 1 ? Math.min(value, ATTEMPT_MAX) : 1;
}

export function readHistory(headers: Record<string, unknown> | undefined): AttemptRecord[] {
  const raw = headers?.[HEADER_HISTORY];
  if (typeof raw !== 'string') return [];
  try {
    const parsed: unknown = JSON.parse(raw);
    return Array.isArray(parsed) ? (parsed as AttemptRecord[]).slice(-HISTORY_ENTRIES_MAX) : [];
  } catch {
    return [];
  }
}

export function encodeHistory(history: readonly AttemptRecord[]): string {
  return JSON.stringify(history.slice(-HISTORY_ENTRIES_MAX));
}

/** The routing key the message was first published with (tiers and replays change it). */
export function originalRoutingKey(msg: Pick<AsyncMessage, 'headers' | 'routingKey'>): string {
  const fromHeader = msg.headers?.[HEADER_ROUTING_KEY];
  return typeof fromHeader === 'string' && fromHeader.length > 0 ? fromHeader : msg.routingKey;
}

/** The delivered body as bytes, exactly as it will be republished. */
export function rawBody(body: unknown): Buffer {
  if (Buffer.isBuffer(body)) return body;
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  return Buffer.from(JSON.stringify(body), 'utf8');
}

/** Copies a delivery's properties for republishing; broker bookkeeping headers are dropped. */
export function republishEnvelope(
  msg: Pick<AsyncMessage, 'headers' | 'routingKey' | 'messageId' | 'correlationId' | 'type' | 'contentType' | 'timestamp'>,
  routingKey: string,
  headers: Record<string, unknown>,
): Envelope & { messageId: string; routingKey: string } {
  const kept: Record<string, unknown> = { ...(msg.headers ?? {}) };
  for (const name of BROKER_HEADERS) delete kept[name];
  return {
    exchange: '',
    routingKey,
    durable: true,
    messageId: msg.messageId ?? `unidentified-${randomUUID()}`,
    correlationId: msg.correlationId,
    type: msg.type,
    contentType: msg.contentType,
    timestamp: msg.timestamp,
    headers: { ...kept, [HEADER_ROUTING_KEY]: originalRoutingKey(msg), ...headers },
  };
}

export function retryHeaders(nextAttempt: number, history: readonly AttemptRecord[]): Record<string, unknown> {
  return { [HEADER_ATTEMPT]: nextAttempt, [HEADER_HISTORY]: encodeHistory(history) };
}

export function deadLetterHeaders(queue: string, attempts: number, error: string, history: readonly AttemptRecord[]): Record<string, unknown> {
  return {
    [HEADER_ATTEMPT]: attempts,
    [HEADER_ATTEMPTS]: attempts,
    [HEADER_ERROR]: error,
    [HEADER_HISTORY]: encodeHistory(history),
    [HEADER_FAILED_AT]: new Date().toISOString(),
    [HEADER_QUEUE]: queue,
  };
}
