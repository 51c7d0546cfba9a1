import type { RequestContext } from '@clearhouse/shared';
import type { ApiKeyRepository } from '../persistence/api-keys.js';

export interface PaymentsContext extends RequestContext {
  readonly apiKeys: ApiKeyRepository;
}
