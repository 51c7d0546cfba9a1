import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/**
 * The envelope of every domain event on the bus. The routing key is `type`
 * (e.g. `payment.succeeded`); the consumer's schema validates `payload`.
 */
export interface DomainEvent<T = unknown> {
  messageId: string;
  type: string;
  schemaVersion: number;
  correlationId: string;
  occurredAt: string;
  payload: T;
}

export const EVENT_CONTENT_TYPE = 'application/json';

/** Application headers the kit sets. `x-death` is deliberately unused (see retry.ts). */
export const HEADER_SCHEMA_VERSION = 'x-schema-version';
export const HEADER_ATTEMPT = 'x-clearhouse-attempt';
export const HEADER_HISTORY = 'x-clearhouse-history';
export const HEADER_ERROR = 'x-clearhouse-error';
export const HEADER_ATTEMPTS = 'x-clearhouse-attempts';
export const HEADER_FAILED_AT = 'x-clearhouse-failed-at';
export const HEADER_ROUTING_KEY = 'x-clearhouse-routing-key';
export const HEADER_QUEUE = 'x-clearhouse-queue';
export const HEADER_REPLAYED_AT = 'x-clearhouse-replayed-at';

const EVENT_TYPE_PATTERN = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/;

export function newEvent<T>(type: string, schemaVersion: number, correlationId: string, payload: T): DomainEvent<T> {
  if (!EVENT_TYPE_PATTERN.test(type)) throw new Error(`event type '${type}' must look like 'payment.succeeded'`);
  if (!Number.isInteger(schemaVersion) || schemaVersion < 1) throw new Error(`schemaVersion must be a positive integer, got ${schemaVersion}`);
  if (correlationId.length === 0) throw new Error('correlationId must not be empty');
  return { messageId: randomUUID(), type, schemaVersion, correlationId, occurredAt: new Date().toISOString(), payload };
}

const envelopeSchema = z.object({
  messageId: z.string().min(1),
  type: z.string().min(1),
  schemaVersion: z.number().int().positive(),
  correlationId: z.string().min(1),
  occurredAt: z.string().min(1),
  payload: z.unknown(),
});

export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
}

/**
 * Decodes a delivered body into an envelope. rabbitmq-client already parses bodies marked
 * application/json, and leaves a Buffer behind when that parse fails, so all three shapes
 * arrive here. Anything that is not a well-formed envelope is poison: no retry can fix it.
 */
export function decodeEnvelope(body: unknown): DomainEvent<unknown> {
  let value: unknown = body;
  if (Buffer.isBuffer(value) || typeof value === 'string') {
    const text = Buffer.isBuffer(value) ? value.toString('utf8') : value;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new PoisonMessageError(`body is not JSON: ${(err as Error).message}`);
    }
  }
  const parsed = envelopeSchema.safeParse(value);
  if (!parsed.success) throw new PoisonMessageError(`body is not an event envelope: ${parsed.error.message}`);
  return parsed.data as DomainEvent<unknown>;
}

export function encodeEnvelope(event: DomainEvent<unknown>): Buffer {
  return Buffer.from(JSON.stringify(event), 'utf8');
}

/** The AMQP properties every event carries (besides exchange and routing key). */
export function eventProperties(event: DomainEvent<unknown>, extraHeaders: Record<string, unknown> = {}) {
  return {
    messageId: event.messageId,
    correlationId: event.correlationId,
    type: event.type,
    contentType: EVENT_CONTENT_TYPE,
    timestamp: Math.floor(Date.parse(event.occurredAt) / 1000) || Math.floor(Date.now() / 1000),
    durable: true,
    headers: { ...extraHeaders, [HEADER_SCHEMA_VERSION]: event.schemaVersion },
  };
}
