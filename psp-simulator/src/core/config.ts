// Runtime configuration of the simulator: fees and delays. Mutable at runtime through
// POST /__admin/config, so every reader takes it from the live object, never a copy.

export interface RuntimeConfig {
  feePercentBps: number;
  feeFixedMinor: number;
  disputeFeeMinor: number;
  availableDays: number;
  payoutDelayMs: number;
  disputeDelayMs: number;
  refundDelayMs: number;
  processingDelayMs: number;
  webhookRetryBaseMs: number;
  webhookRetryMaxDelayMs: number;
  webhookMaxAttempts: number;
  webhookTimeoutMs: number;
  webhookConcurrency: number;
  apiTimeoutHangMs: number;
  shuffleWindowMs: number;
}

export const defaultRuntimeConfig: RuntimeConfig = {
  feePercentBps: 290,
  feeFixedMinor: 30,
  disputeFeeMinor: 1500,
  availableDays: 2,
  payoutDelayMs: 200,
  disputeDelayMs: 500,
  refundDelayMs: 50,
  processingDelayMs: 1000,
  webhookRetryBaseMs: 500,
  webhookRetryMaxDelayMs: 60_000,
  webhookMaxAttempts: 8,
  webhookTimeoutMs: 10_000,
  webhookConcurrency: 64,
  apiTimeoutHangMs: 30_000,
  shuffleWindowMs: 500,
};

const bounds: Record<keyof RuntimeConfig, [number, number]> = {
  feePercentBps: [0, 10_000],
  feeFixedMinor: [0, 1_000_000],
  disputeFeeMinor: [0, 1_000_000],
  availableDays: [0, 365],
  payoutDelayMs: [0, 3_600_000],
  disputeDelayMs: [0, 3_600_000],
  refundDelayMs: [0, 3_600_000],
  processingDelayMs: [0, 3_600_000],
  webhookRetryBaseMs: [1, 3_600_000],
  webhookRetryMaxDelayMs: [1, 86_400_000],
  webhookMaxAttempts: [1, 50],
  webhookTimeoutMs: [1, 120_000],
  webhookConcurrency: [1, 1024],
  apiTimeoutHangMs: [1, 300_000],
  shuffleWindowMs: [0, 60_000],
};

/** Validates a partial config (admin endpoint, options); returns the list of problems. */
export function mergeRuntimeConfig(target: RuntimeConfig, patch: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(patch)) {
    if (!(key in bounds)) {
      problems.push(`unknown setting ${key}`);
      continue;
    }
    const [min, max] = bounds[key as keyof RuntimeConfig];
    if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
      problems.push(`${key} must be an integer from ${min} to ${max}`);
    }
  }
  if (problems.length === 0) Object.assign(target, patch);
  return problems;
}
