// API keys: the platform creates seller keys; development keys are ensured at start-up.
import { DomainError, generateApiKeySecret, hashApiKey, isWellFormedId, type Caller } from '@clearhouse/shared';
import type { ApiKeyRepository, StoredApiKey } from '../persistence/api-keys.js';

export async function ensureDevelopmentKeys(repo: ApiKeyRepository, keys: { platform: string; ops: string }): Promise<void> {
  await repo.ensure(hashApiKey(keys.platform), 'platform', null, 'development platform key');
  await repo.ensure(hashApiKey(keys.ops), 'ops', null, 'development ops key');
}

export async function createSellerApiKey(repo: ApiKeyRepository, caller: Caller, sellerId: string): Promise<{ secret: string; key: StoredApiKey }> {
  if (caller.role !== 'platform') throw new DomainError('FORBIDDEN', 'only the platform role may create seller API keys');
  if (!isWellFormedId(sellerId)) {
    throw new DomainError('INVALID_INPUT', 'sellerId must be 1-64 characters of letters, digits, _ or -', { field: ['sellerId'] });
  }
  const secret = generateApiKeySecret('seller');
  const key = await repo.insert(hashApiKey(secret), 'seller', sellerId, `seller ${sellerId}`);
  return { secret, key };
}

export async function resolveApiKey(repo: ApiKeyRepository, keyHash: string): Promise<StoredApiKey | null> {
  if (!/^[0-9a-f]{64}$/.test(keyHash)) return null;
  return repo.findActiveByHash(keyHash);
}
