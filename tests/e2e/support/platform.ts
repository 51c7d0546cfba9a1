// What a test file knows about the platform started by global-setup.ts.
import { GraphQLClient } from 'graphql-request';

interface PlatformInfo {
  urls: { gateway: string; gatewayWs: string; payments: string; ledger: string; wallet: string; payouts: string; psp: string };
  env: Record<string, string>;
  logFile: string;
}

export function platform(): PlatformInfo {
  const raw = process.env.E2E_PLATFORM;
  if (!raw) throw new Error('E2E_PLATFORM is not set: run the e2e suite through jest (tests/jest.config.js)');
  return JSON.parse(raw) as PlatformInfo;
}

export function platformKey(): string {
  return platform().env.CLEARHOUSE_PLATFORM_KEY!;
}

export function opsKey(): string {
  return platform().env.CLEARHOUSE_OPS_KEY!;
}

export function client(apiKey?: string): GraphQLClient {
  const headers: Record<string, string> = {};
  if (apiKey) headers.authorization = `Bearer ${apiKey}`;
  return new GraphQLClient(platform().urls.gateway, { headers });
}

/** A raw POST to the gateway that returns status and body without throwing on GraphQL errors. */
export async function rawGraphQL(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  const text = await response.text();
  let json: any = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = { text };
  }
  return { status: response.status, json };
}

let counter = 0;
export function uniqueId(prefix: string): string {
  counter += 1;
  return `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter}`;
}
