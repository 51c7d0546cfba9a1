// The only reader (and writer) of process.env in the gateway.
import { z } from 'zod';
import { commonEnvShape, envBoolean, envDurationMs, envPort, loadEnv, parseEnv } from '@clearhouse/shared';
import { TRUSTED_PROXIES_MAX, trustedProxyProblem } from './auth/client-address.js';

/** A comma-separated list of trusted-proxy entries; every bad entry is reported, by value (addresses are no secret). */
function envTrustedProxies() {
  return z
    .string()
    .transform((text, ctx) => {
      const entries = text
        .split(',')
        .map((entry) => entry.trim())
        .filter((entry) => entry !== '');
      if (entries.length > TRUSTED_PROXIES_MAX) ctx.addIssue({ code: 'custom', message: `names ${entries.length} entries; at most ${TRUSTED_PROXIES_MAX}` });
      for (const entry of entries) {
        const problem = trustedProxyProblem(entry);
        if (problem) ctx.addIssue({ code: 'custom', message: problem });
      }
      return entries as readonly string[];
    })
    .default([]);
}

export const gatewayEnvShape = {
  ...commonEnvShape,
  GATEWAY_PORT: envPort(4000),
  GATEWAY_HOST: z.string().default('0.0.0.0'),
  PAYMENTS_URL: z.string().url().default('http://localhost:4001/graphql'),
  LEDGER_URL: z.string().url().default('http://localhost:4002/graphql'),
  WALLET_URL: z.string().url().default('http://localhost:4003/graphql'),
  PAYOUTS_URL: z.string().url().default('http://localhost:4004/graphql'),
  /**
   * The whole deadline of one request to a subgraph (connection, headers and body). 5 minutes is
   * what Node's fetch waited for headers before; runReconciliation is a synchronous mutation that
   * reads a whole day from the PSP, so this stays long unless that run is measured.
   */
  SUBGRAPH_TIMEOUT_MS: envDurationMs(300_000, { minMs: 100, maxMs: 3_600_000 }),
  /** How long a resolved API key is trusted before it is looked up again. */
  AUTH_CACHE_TTL_MS: z.coerce.number().int().min(0).max(600_000).default(30_000),
  RATE_LIMIT_PER_SECOND: z.coerce.number().int().min(1).max(1_000_000).default(500),
  /** Failed authentications (unknown or revoked keys) one client address may make per minute before it is refused without a lookup. */
  AUTH_FAILURE_LIMIT_PER_MINUTE: z.coerce.number().int().min(1).max(1_000_000).default(100),
  /**
   * Load balancers or reverse proxies in front of the gateway (comma-separated IP addresses or
   * CIDR ranges). From these peers the client address is taken from X-Forwarded-For; empty trusts
   * nobody, so the header is ignored (it is the client's to forge).
   */
  TRUSTED_PROXIES: envTrustedProxies(),
  QUERY_DEPTH_MAX: z.coerce.number().int().min(2).max(50).default(12),
  QUERY_ALIASES_MAX: z.coerce.number().int().min(1).max(500).default(30),
  QUERY_COST_MAX: z.coerce.number().int().min(100).max(1_000_000).default(20_000),
  /**
   * @apollo/gateway's anonymous telemetry: unless told otherwise it sends Apollo an hourly OTLP
   * export of the host's OS, architecture, CPU and memory. A payments backend sends nothing to a
   * third party nobody chose, so it is off unless this is true.
   */
  APOLLO_GATEWAY_TELEMETRY: envBoolean(false),
};

export type GatewayEnv = ReturnType<typeof parseGatewayEnv>;

export function parseGatewayEnv(source: Record<string, string | undefined>) {
  return parseEnv(gatewayEnvShape, source);
}

export function loadGatewayEnv() {
  return loadEnv(gatewayEnvShape);
}

/**
 * Settings that libraries read from process.env themselves, set from the parsed env before they
 * are constructed: @apollo/gateway reads `APOLLO_TELEMETRY_DISABLED` in its constructor.
 */
export function applyLibraryEnv(env: Pick<GatewayEnv, 'APOLLO_GATEWAY_TELEMETRY'>, target: Record<string, string | undefined> = process.env): void {
  target.APOLLO_TELEMETRY_DISABLED = env.APOLLO_GATEWAY_TELEMETRY ? 'false' : 'true';
}
