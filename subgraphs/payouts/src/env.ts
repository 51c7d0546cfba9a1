// The only reader of process.env in the payouts subgraph.
import { z } from 'zod';
import { commonEnvShape, envPort, loadEnv, parseEnv } from '@clearhouse/shared';

export const payoutsEnvShape = {
  ...commonEnvShape,
  PAYOUTS_PORT: envPort(4004),
  PAYOUTS_HOST: z.string().default('0.0.0.0'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
};

export type PayoutsEnv = ReturnType<typeof parsePayoutsEnv>;

export function parsePayoutsEnv(source: Record<string, string | undefined>) {
  return parseEnv(payoutsEnvShape, source);
}

export function loadPayoutsEnv() {
  return loadEnv(payoutsEnvShape);
}
