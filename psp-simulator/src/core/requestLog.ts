// What the simulator did, for tests and debugging: every API request and every webhook
// delivery attempt. Bounded ring: the oldest entries go first.

export interface ApiLogEntry {
  kind: 'api';
  at: string;
  requestId: string;
  method: string;
  path: string;
  idempotencyKey: string | null;
  status: number;
  outcome: 'ok' | 'stripe_error' | 'fault_api_error' | 'fault_timeout' | 'idempotent_replay' | 'idempotency_conflict' | 'unauthorized';
  applied: boolean;
  latencyMs: number;
}

export interface WebhookLogEntry {
  kind: 'webhook';
  at: string;
  eventId: string;
  type: string;
  deliveryId: string;
  attempt: number;
  status: number | null;
  outcome: 'delivered' | 'failed' | 'gave_up' | 'dropped' | 'scheduled';
  error: string | null;
  nextAttemptInMs: number | null;
}

export type LogEntry = ApiLogEntry | WebhookLogEntry;

const entriesMax = 50_000;

export class RequestLog {
  private entries: LogEntry[] = [];

  add(entry: LogEntry): void {
    this.entries.push(entry);
    if (this.entries.length > entriesMax * 1.1) this.entries = this.entries.slice(-entriesMax);
  }

  query(options: { sinceIso?: string; limit?: number; kind?: string }): LogEntry[] {
    let selected = this.entries;
    if (options.sinceIso) {
      const since = options.sinceIso;
      selected = selected.filter((entry) => entry.at >= since);
    }
    if (options.kind) selected = selected.filter((entry) => entry.kind === options.kind);
    const limit = Math.min(options.limit ?? entriesMax, entriesMax);
    return selected.slice(-limit);
  }
}
