// Fault injection settings (POST /__admin/faults merges, DELETE clears). Rates are
// probabilities from 0 to 1. `paths` limits API faults to path prefixes (default: all /v1).
import { z } from 'zod';

const rate = z.number().min(0).max(1);

export const faultPatchSchema = z
  .object({
    apiErrorRate: rate,
    apiTimeoutRate: rate,
    apiLatencyMs: z.number().int().min(0).max(60_000),
    webhookDropRate: rate,
    webhookDuplicateRate: rate,
    webhookDelayMs: z.number().int().min(0).max(3_600_000),
    webhookShuffle: z.boolean(),
    paths: z.array(z.string().startsWith('/')).max(50),
  })
  .partial()
  .strict();

export type Faults = z.infer<typeof faultPatchSchema>;

export class FaultState {
  private current: Faults = {};

  get(): Faults {
    return { ...this.current };
  }

  merge(patch: Faults): Faults {
    this.current = { ...this.current, ...patch };
    return this.get();
  }

  clear(): void {
    this.current = {};
  }

  appliesTo(path: string): boolean {
    const prefixes = this.current.paths;
    if (!prefixes || prefixes.length === 0) return path.startsWith('/v1/');
    return prefixes.some((prefix) => path.startsWith(prefix));
  }

  roll(rateValue: number | undefined): boolean {
    return rateValue !== undefined && rateValue > 0 && Math.random() < rateValue;
  }
}
