// The only reader of process.env in the wallet subgraph.
import { z } from 'zod';
import { commonEnvShape, messagingRetentionEnvShape, envPort, loadEnv, parseEnv } from '@clearhouse/shared';

export const walletEnvShape = {
  ...commonEnvShape,
  ...messagingRetentionEnvShape,
  WALLET_PORT: envPort(4003),
  WALLET_HOST: z.string().default('0.0.0.0'),
  DB_POOL_MAX: z.coerce.number().int().min(1).max(100).default(10),
  /** Messages in flight per consumer. */
  WALLET_CONSUMER_PREFETCH: z.coerce.number().int().min(1).max(500).default(100),
};

export type WalletEnv = ReturnType<typeof parseWalletEnv>;

export function parseWalletEnv(source: Record<string, string | undefined>) {
  return parseEnv(walletEnvShape, source);
}

export function loadWalletEnv() {
  return loadEnv(walletEnvShape);
}
