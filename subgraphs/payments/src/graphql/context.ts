import type { RequestContext } from '@clearhouse/shared';
import type { PaymentsDeps } from '../application/deps.js';
import type { ApiKeyRepository } from '../persistence/api-keys.js';
import type { PaymentsLoaders } from './loaders.js';

export interface PaymentsContext extends RequestContext {
  readonly apiKeys: ApiKeyRepository;
  readonly deps: PaymentsDeps;
  readonly loaders: PaymentsLoaders;
}
