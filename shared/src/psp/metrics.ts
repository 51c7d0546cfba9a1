// Prometheus metrics of a service's PSP calls (ARCHITECTURE.md, Observability: PSP errors by
// type): every attempt the port makes, by operation and outcome, and its latency. A thin wrapper
// around the port, so the adapter and the executor stay as they are and every call is counted,
// whichever use case makes it.
import { Counter, Histogram, type Registry } from 'prom-client';

export interface PspMetrics {
  /** Attempts by operation and outcome: `ok`, or the failure's kind (timeout, connection, server, rejected …). */
  readonly calls: Counter<'operation' | 'outcome'>;
  /** Seconds per attempt, by operation. */
  readonly duration: Histogram<'operation'>;
}

export function pspMetrics(registry: Registry): PspMetrics {
  return {
    calls: new Counter({
      name: 'clearhouse_psp_calls_total',
      help: 'Calls to the PSP by operation and outcome: ok, or the error kind (timeout, connection, server, rate_limited, in_use, rejected)',
      labelNames: ['operation', 'outcome'] as const,
      registers: [registry],
    }),
    duration: new Histogram({
      name: 'clearhouse_psp_call_duration_seconds',
      help: 'Latency of calls to the PSP by operation',
      labelNames: ['operation'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
  };
}

/** The outcome label of a failed call: the port's typed error kind, else the error's name. */
export function pspOutcomeOf(error: unknown): string {
  if (typeof error === 'object' && error !== null) {
    const kind = (error as { kind?: unknown }).kind;
    if (typeof kind === 'string' && kind !== '') return kind;
    const name = (error as { name?: unknown }).name;
    if (typeof name === 'string' && name !== '') return name;
  }
  return 'unknown';
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

/**
 * The same port with every asynchronous method counted and timed (the method's name is the
 * `operation` label). Synchronous methods (e.g. verifying a webhook's signature, which calls
 * nothing) are passed through as they are.
 */
export function instrumentPsp<T extends object>(port: T, metrics: PspMetrics): T {
  const instrumented: Record<string, unknown> = {};
  // Own members and those of its classes (a port may be a class instance), nearest first.
  for (let layer: object | null = port; layer !== null && layer !== Object.prototype; layer = Object.getPrototypeOf(layer) as object | null) {
    for (const name of Object.getOwnPropertyNames(layer)) {
      if (name === 'constructor' || name in instrumented) continue;
      const member = (port as Record<string, unknown>)[name];
      instrumented[name] = typeof member === 'function' ? counted(port, name, member as (...args: unknown[]) => unknown, metrics) : member;
    }
  }
  return instrumented as T;
}

function counted(port: object, name: string, method: (...args: unknown[]) => unknown, metrics: PspMetrics): (...args: unknown[]) => unknown {
  return (...args: unknown[]): unknown => {
    const startedNs = process.hrtime.bigint();
    const result = method.apply(port, args);
    if (!isThenable(result)) return result;
    const done = (outcome: string) => {
      metrics.calls.inc({ operation: name, outcome });
      metrics.duration.observe({ operation: name }, Number(process.hrtime.bigint() - startedNs) / 1e9);
    };
    return Promise.resolve(result).then(
      (value) => {
        done('ok');
        return value;
      },
      (error: unknown) => {
        done(pspOutcomeOf(error));
        throw error;
      },
    );
  };
}
