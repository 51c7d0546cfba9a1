// A graphql-ws client for the tests, as a dashboard would use it.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { platform } from './platform';

export function wsClient(apiKey: string | null): Client {
  return createClient({
    url: platform().urls.gatewayWs,
    webSocketImpl: WebSocket,
    connectionParams: apiKey ? { authorization: `Bearer ${apiKey}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

export interface Collected<T> {
  readonly values: T[];
  readonly errors: unknown[];
  readonly completed: Promise<void>;
  stop(): void;
  /** Resolves when `predicate` holds for the values collected so far (bounded by timeoutMs). */
  until(predicate: (values: T[]) => boolean, timeoutMs?: number): Promise<T[]>;
}

export function collect<T>(client: Client, query: string, variables: Record<string, unknown>): Collected<T> {
  const values: T[] = [];
  const errors: unknown[] = [];
  const waiters: (() => void)[] = [];
  let resolveCompleted!: () => void;
  const completed = new Promise<void>((resolve) => {
    resolveCompleted = resolve;
  });
  const notify = () => waiters.splice(0).forEach((w) => w());
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (result) => {
        if (result.errors) errors.push(...result.errors);
        if (result.data) values.push(result.data as T);
        notify();
      },
      error: (error) => {
        // A refused connection arrives as a WebSocket CloseEvent, whose fields are not enumerable.
        const close = error as { code?: number; reason?: string };
        errors.push(typeof close.code === 'number' ? { code: close.code, reason: close.reason } : error);
        notify();
        resolveCompleted();
      },
      complete: () => {
        notify();
        resolveCompleted();
      },
    },
  );
  return {
    values,
    errors,
    completed,
    stop: dispose,
    async until(predicate, timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      while (!predicate(values)) {
        if (errors.length > 0) throw new Error(`subscription failed: ${JSON.stringify(errors)}`);
        const remaining = deadline - Date.now();
        if (remaining <= 0) throw new Error(`subscription condition not met in ${timeoutMs} ms; got ${JSON.stringify(values)}`);
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, remaining);
          waiters.push(() => {
            clearTimeout(timer);
            resolve();
          });
        });
      }
      return values;
    },
  };
}
