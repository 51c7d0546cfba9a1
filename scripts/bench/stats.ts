// Percentiles, formatting and the result table.

export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? NaN;
}

export interface LatencySummary {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
  mean: number;
}

export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p95: percentile(sorted, 95),
    p99: percentile(sorted, 99),
    max: sorted.length ? (sorted[sorted.length - 1] ?? NaN) : NaN,
    mean: sorted.length ? sum / sorted.length : NaN,
  };
}

export function ms(value: number): string {
  if (!Number.isFinite(value)) return '-';
  if (value >= 10_000) return `${(value / 1000).toFixed(1)} s`;
  if (value >= 100) return `${Math.round(value)} ms`;
  return `${value.toFixed(1)} ms`;
}

export function num(value: number, digits = 1): string {
  if (!Number.isFinite(value)) return '-';
  return value.toFixed(digits);
}

export function pct(value: number): string {
  if (!Number.isFinite(value)) return '-';
  return `${(value * 100).toFixed(value > 0 && value < 0.001 ? 3 : 2)}%`;
}

/** A plain-text table (also valid GitHub markdown). */
export function table(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)));
  const line = (cells: readonly string[]) => `| ${cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`;
  return [line(headers), `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

/** One response: when its request was sent (ms since its phase began) and how long it took (ms). */
export type LatencySample = readonly [sentAtMs: number, latencyMs: number];

export interface TimelineBucket {
  /** Start of the bucket, ms since the phase began (by the moment requests were sent). */
  fromMs: number;
  count: number;
  p50: number;
  max: number;
  /** Responses slower than the `slowMs` the timeline was built with. */
  slow: number;
}

/** Responses grouped by when their request was sent, in buckets of `bucketMs`; empty buckets are left out. */
export function latencyTimeline(samples: readonly LatencySample[], bucketMs: number, slowMs: number): TimelineBucket[] {
  const buckets = new Map<number, number[]>();
  for (const [sentAtMs, latencyMs] of samples) {
    const index = Math.floor(Math.max(0, sentAtMs) / bucketMs);
    const bucket = buckets.get(index);
    if (bucket) bucket.push(latencyMs);
    else buckets.set(index, [latencyMs]);
  }
  return [...buckets.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, values]) => {
      const summary = summarize(values);
      return { fromMs: index * bucketMs, count: summary.count, p50: summary.p50, max: summary.max, slow: values.filter((value) => value > slowMs).length };
    });
}

export interface StepSplit {
  /** The requests sent in the phase's first `ms`. */
  first: LatencySummary & { slow: number };
  rest: LatencySummary & { slow: number };
}

/** Latency of the requests sent in a phase's first `firstMs` (the step to its rate) and of the rest; `slow` counts those over `slowMs`. */
export function splitAtStep(samples: readonly LatencySample[], firstMs: number, slowMs: number): StepSplit {
  const part = (values: number[]) => ({ ...summarize(values), slow: values.filter((value) => value > slowMs).length });
  return {
    first: part(samples.filter(([sentAtMs]) => sentAtMs < firstMs).map(([, latencyMs]) => latencyMs)),
    rest: part(samples.filter(([sentAtMs]) => sentAtMs >= firstMs).map(([, latencyMs]) => latencyMs)),
  };
}

/** Seconds at the start of the settlement window the sustained check leaves out (the pipeline fills), and the last (cut short). */
export const SUSTAINED_SKIP_FIRST_SECONDS = 2;

/**
 * The verdict on "≥ `target` settled payments/s sustained for `minSeconds` s": the window must be
 * that long, its average must reach the target, and so must every second after the first
 * SUSTAINED_SKIP_FIRST_SECONDS except the last. Null when the window is too short to judge.
 */
export function sustainedVerdict(perSecond: readonly number[], averagePerSec: number, windowMs: number, target = 200, minSeconds = 60): { passed: boolean | null; detail: string } {
  const counted = perSecond.slice(SUSTAINED_SKIP_FIRST_SECONDS, -1);
  const short = counted.filter((n) => n < target);
  const window = `${num(averagePerSec)}/s in a ${(windowMs / 1000).toFixed(0)} s window`;
  if (perSecond.length < minSeconds) return { passed: null, detail: `${window} (window shorter than ${minSeconds} s)` };
  const seconds = short.length === 0 ? `every one of ${counted.length} counted seconds at ≥${target}` : `${short.length} of ${counted.length} counted seconds under ${target} (slowest ${Math.min(...short)})`;
  return { passed: short.length === 0 && averagePerSec >= target, detail: `${window}; ${seconds}` };
}
