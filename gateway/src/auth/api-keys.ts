// Resolves a bearer secret to a caller by asking the payments subgraph, which owns the API keys
// (only their hashes are stored). Results are cached briefly so authentication costs one hash
// and one map lookup per request; revocation takes effect within the cache TTL.
import type { Fetcher } from '@apollo/utils.fetcher';
import { LRUCache } from 'lru-cache';
import { hashApiKey, signCaller, systemCaller, type Caller, type Role } from '@clearhouse/shared';
import type { SubgraphHttpClient } from '../subgraph-http.js';

const CACHE_ENTRIES_MAX = 10_000;
const LOOKUP_TIMEOUT_MS = 3_000;

export interface ApiKeyResolverOptions {
  readonly paymentsBaseUrl: string;
  readonly signingSecret: string;
  readonly cacheTtlMs: number;
  /** The gateway's client for subgraphs: lookups share its keep-alive connections to payments. */
  readonly http: Pick<SubgraphHttpClient, 'fetcher'>;
}

interface ResolvedKey {
  readonly caller: Caller | null;
}

export class ApiKeyResolver {
  private readonly cache: LRUCache<string, ResolvedKey>;
  private readonly lookupUrl: string;
  private readonly fetcher: Fetcher;

  constructor(private readonly options: ApiKeyResolverOptions) {
    this.cache = new LRUCache({ max: CACHE_ENTRIES_MAX, ttl: Math.max(1, options.cacheTtlMs) });
    this.lookupUrl = new URL('/internal/api-keys/resolve', options.paymentsBaseUrl).toString();
    this.fetcher = options.http.fetcher(LOOKUP_TIMEOUT_MS);
  }

  /** The caller for this secret, or null when no active key has it. */
  async resolve(secret: string): Promise<Caller | null> {
    const keyHash = hashApiKey(secret);
    const cached = this.options.cacheTtlMs > 0 ? this.cache.get(keyHash) : undefined;
    if (cached) return cached.caller;
    const caller = await this.lookup(keyHash);
    this.cache.set(keyHash, { caller });
    return caller;
  }

  private async lookup(keyHash: string): Promise<Caller | null> {
    const request = JSON.stringify({ keyHash });
    const response = await this.fetcher(this.lookupUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...signCaller(systemCaller('gateway'), this.options.signingSecret, { method: 'POST', url: this.lookupUrl, body: request }) },
      body: request,
    });
    if (response.status === 404) return null;
    if (!response.ok) throw new Error(`API key lookup failed with HTTP ${response.status}`);
    const body = (await response.json()) as { keyId: string; role: Role; sellerId: string | null };
    return { keyId: body.keyId, role: body.role, sellerId: body.sellerId };
  }
}
