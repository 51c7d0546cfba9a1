// The only reader of process.env in the payments subgraph.
import { z } from 'zod';
import { commonEnvShape, envPort, loadEnv, parseEnv } from '@clearhouse/shared';

export const paymentsEnvShape = {
  ...commonEnvShape,
  PAYMENTS_PORT: envPort(4001),
  PAYMENTS_HOST: z.string().default('0.0.0.0'),
  /** Development keys ensured at start-up outside production (CONTRACT.md, "Authentication"). */
  CLEARHOUSE_PLATFORM_KEY: z.string().min(8).max(256).default('dev_platform_key'),
  CLEARHOUSE_OPS_KEY: z.string().min(8).max(256).default('dev_ops_key'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
};

export type PaymentsEnv = ReturnType<typeof parsePaymentsEnv>;

export function parsePaymentsEnv(source: Record<string, string | undefined>) {
  return parseEnv(paymentsEnvShape, source);
}

export function loadPaymentsEnv() {
  return loadEnv(paymentsEnvShape);
}
