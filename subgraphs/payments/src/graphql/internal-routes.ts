// Internal HTTP routes the gateway calls with a signed system caller (never exposed publicly).
import { sendJson, verifyCaller, type RawRoute } from '@clearhouse/shared';
import { resolveApiKey } from '../application/api-keys.js';
import type { ApiKeyRepository } from '../persistence/api-keys.js';

export function apiKeyResolveRoute(apiKeys: ApiKeyRepository, signingSecret: string): RawRoute {
  return {
    method: 'POST',
    path: '/internal/api-keys/resolve',
    async handle(request, response, body) {
      const caller = verifyCaller(request, body, signingSecret);
      if (!caller || caller.role !== 'system') {
        sendJson(response, 401, { error: 'signed system caller required' });
        return;
      }
      let keyHash: unknown;
      try {
        keyHash = (JSON.parse(body.toString('utf8')) as { keyHash?: unknown }).keyHash;
      } catch {
        sendJson(response, 400, { error: 'body must be JSON {"keyHash": "<sha256 hex>"}' });
        return;
      }
      const key = typeof keyHash === 'string' ? await resolveApiKey(apiKeys, keyHash) : null;
      if (!key) {
        sendJson(response, 404, { error: 'no active key' });
        return;
      }
      sendJson(response, 200, { keyId: key.id, role: key.role, sellerId: key.sellerId });
    },
  };
}
