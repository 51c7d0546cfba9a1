import type { RequestContext } from '@clearhouse/shared';
import type { WalletPrisma } from '../persistence/prisma.js';

export interface WalletContext extends RequestContext {
  readonly prisma: WalletPrisma;
}
