// Load through autocannon's programmatic API. A fixed rate is spread over several staggered
// autocannon instances: autocannon paces per connection and per one-second window, so a single
// instance would fire each second's whole budget at once and measure its own burst.
import type { EventEmitter } from 'node:events';
import autocannon, { type Instance, type Request, type Result } from 'autocannon';
import { progress } from './progress';
import { latencyTimeline, splitAtStep, summarize, type LatencySample, type LatencySummary, type StepSplit, type TimelineBucket } from './stats';

export interface LoadOptions {
  readonly label: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  /** Requests per second; 0 = as fast as it goes (closed loop over `connections`). */
  readonly rate: number;
  /** For rate 0: concurrent connections. */
  readonly connections: number;
  readonly durationSec: number;
  readonly body: () => string;
  /** Headers that depend on the body (a caller signature bound to it), added to `headers`. */
  readonly headersFor?: (body: string) => Record<string, string>;
  /** Classifies a response: null when it is a success, else an error label. */
  readonly classify: (status: number, body: string) => string | null;
  /** Called for every response after classification (e.g. to pay the checkout). */
  readonly onResponse?: (status: number, body: string) => void;
  readonly extraDetail?: () => string;
}

export interface LoadResult {
  readonly label: string;
  readonly targetRate: number;
  readonly durationMs: number;
  readonly completed: number;
  readonly succeeded: number;
  readonly errors: Record<string, number>;
  readonly errorRate: number;
  readonly achievedRate: number;
  readonly latency: LatencySummary;
  /**
   * The same latencies split at STEP_MS after the phase began: the step from the previous
   * phase's rate to this one, and the rest.
   */
  readonly step: StepSplit & { readonly ms: number; readonly slowMs: number };
  /** Per second of the phase (by when requests were sent): responses, p50, max, and those over SLOW_MS. */
  readonly timeline: readonly TimelineBucket[];
  readonly timeouts: number;
  readonly connectionErrors: number;
}

const STAGGERED_INSTANCES_MAX = 10;
const REQUESTS_PER_CONNECTION_WINDOW = 4;
const REQUEST_TIMEOUT_SEC = 10;
/** How much of a phase's start the report shows apart (the step to the new rate). */
export const STEP_MS = 2000;
/** What the timeline counts as slow: the createCheckout target's bound. */
export const SLOW_MS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  const samples: LatencySample[] = [];
  let startedAt = Date.now();
  const errors: Record<string, number> = {};
  let succeeded = 0;
  let completed = 0;
  let timeouts = 0;
  let connectionErrors = 0;
  const durationMs = options.durationSec * 1000;
  const bar = progress(options.label, durationMs);
  let lastCompleted = 0;
  let lastAt = Date.now();
  const ticker = setInterval(() => {
    const now = Date.now();
    const rate = ((completed - lastCompleted) * 1000) / Math.max(1, now - lastAt);
    lastCompleted = completed;
    lastAt = now;
    const failed = completed - succeeded;
    bar.update(`${rate.toFixed(0)} req/s  done ${completed}  errors ${failed}${options.extraDetail ? `  ${options.extraDetail()}` : ''}`);
  }, 1000);
  ticker.unref();

  const request: Request = {
    method: 'POST',
    setupRequest: (req: Request) => {
      const body = options.body();
      return options.headersFor ? { ...req, body, headers: { ...req.headers, ...options.headersFor(body) } } : { ...req, body };
    },
    onResponse: (status: number, body: string) => {
      const error = options.classify(status, body);
      if (error === null) succeeded += 1;
      else errors[error] = (errors[error] ?? 0) + 1;
      options.onResponse?.(status, body);
    },
  };
  const setupClient = (client: EventEmitter) => {
    client.on('response', (_status: number, _bytes: number, responseTime: number) => {
      completed += 1;
      samples.push([Date.now() - responseTime - startedAt, responseTime]);
    });
  };
  const common = {
    url: options.url,
    method: 'POST',
    headers: { 'content-type': 'application/json', ...options.headers },
    duration: options.durationSec,
    timeout: REQUEST_TIMEOUT_SEC,
    requests: [request],
    setupClient,
  };

  const instances: Instance[] = [];
  const results: Promise<Result>[] = [];
  startedAt = Date.now();
  if (options.rate <= 0) {
    const instance = autocannon({ ...common, connections: options.connections });
    instances.push(instance);
    results.push(Promise.resolve(instance));
  } else {
    const count = Math.min(STAGGERED_INSTANCES_MAX, options.rate);
    for (let index = 0; index < count; index += 1) {
      const share = Math.floor(options.rate / count) + (index < options.rate % count ? 1 : 0);
      const connections = Math.max(1, Math.ceil(share / REQUESTS_PER_CONNECTION_WINDOW));
      results.push(
        sleep((index * 1000) / count).then(() => {
          const instance = autocannon({ ...common, duration: options.durationSec - index / count, connections, overallRate: share });
          instances.push(instance);
          return instance;
        }) as Promise<Result>,
      );
    }
  }
  const finished = await Promise.all(results);
  const elapsedMs = Date.now() - startedAt;
  clearInterval(ticker);
  for (const result of finished) {
    timeouts += result.timeouts;
    connectionErrors += Math.max(0, result.errors - result.timeouts);
  }
  if (timeouts > 0) errors.timeout = (errors.timeout ?? 0) + timeouts;
  if (connectionErrors > 0) errors.connection = (errors.connection ?? 0) + connectionErrors;
  const attempted = completed + timeouts + connectionErrors;
  const failed = attempted - succeeded;
  const latency = summarize(samples.map(([, latencyMs]) => latencyMs));
  bar.done(`${(completed / (elapsedMs / 1000)).toFixed(0)} req/s  p50 ${latency.p50.toFixed(1)} ms  p99 ${latency.p99.toFixed(1)} ms  errors ${failed}`);
  return {
    label: options.label,
    targetRate: options.rate,
    durationMs: elapsedMs,
    completed,
    succeeded,
    errors,
    errorRate: attempted > 0 ? failed / attempted : 0,
    achievedRate: completed / (elapsedMs / 1000),
    latency,
    step: { ms: STEP_MS, slowMs: SLOW_MS, ...splitAtStep(samples, STEP_MS, SLOW_MS) },
    timeline: latencyTimeline(samples, 1000, SLOW_MS),
    timeouts,
    connectionErrors,
  };
}
