// Stripe's idempotency: the first response to a POST with an Idempotency-Key is stored with a
// hash of method, path and parameters and replayed for the same key; the same key with other
// parameters is an idempotency_error (400); while the first request is still running the key
// is locked (409 idempotency_key_in_use). Keys are kept 24 hours, like Stripe.
import { createHash } from 'node:crypto';
import type { Row } from '../store/db.js';
import type { WriteBehind } from '../store/writeBehind.js';

export interface StoredResponse {
  key: string;
  requestHash: string;
  status: number;
  body: string;
  createdMs: number;
}

export type Admission =
  | { kind: 'started' }
  | { kind: 'replay'; response: StoredResponse }
  | { kind: 'mismatch' }
  | { kind: 'in_use' };

const keyLifetimeMs = 24 * 3600 * 1000;

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, canonical((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

export function requestHash(method: string, path: string, params: unknown): string {
  return createHash('sha256').update(JSON.stringify([method, path, canonical(params)])).digest('hex');
}

export class IdempotencyKeys {
  private readonly responses = new Map<string, StoredResponse>();
  private readonly running = new Map<string, string>();

  constructor(private readonly writer: WriteBehind) {}

  load(rows: Row[]): void {
    const oldestMs = Date.now() - keyLifetimeMs;
    for (const row of rows) {
      const stored = row.data as unknown as StoredResponse;
      if (stored.createdMs >= oldestMs) this.responses.set(stored.key, stored);
    }
  }

  admit(key: string, hash: string): Admission {
    if (this.running.has(key)) return { kind: 'in_use' };
    const stored = this.responses.get(key);
    if (stored && stored.createdMs >= Date.now() - keyLifetimeMs) {
      return stored.requestHash === hash ? { kind: 'replay', response: stored } : { kind: 'mismatch' };
    }
    this.running.set(key, hash);
    return { kind: 'started' };
  }

  /** Stores the first response (written with the same flush as the state it describes). */
  complete(key: string, status: number, body: string): void {
    const hash = this.running.get(key);
    this.running.delete(key);
    if (hash === undefined) return;
    const stored: StoredResponse = { key, requestHash: hash, status, body, createdMs: Date.now() };
    this.responses.set(key, stored);
    this.writer.upsert('idempotency_keys', { id: key, type: 'response', created: stored.createdMs, data: { ...stored } });
  }

  /** The request did not run (a timeout fault that was not applied): the key is free again. */
  release(key: string): void {
    this.running.delete(key);
  }
}
