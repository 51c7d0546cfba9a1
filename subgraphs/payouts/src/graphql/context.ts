import type { RequestContext } from '@clearhouse/shared';
import type { PayoutsDeps } from '../application/deps.js';
import type { PayoutsPrisma } from '../persistence/prisma.js';

export interface PayoutsContext extends RequestContext {
  readonly prisma: PayoutsPrisma;
  readonly deps: PayoutsDeps;
}
