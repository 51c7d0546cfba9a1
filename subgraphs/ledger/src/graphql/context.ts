import type { RequestContext } from '@clearhouse/shared';
import type { LedgerEnv } from '../env.js';
import type { LedgerPrisma } from '../persistence/prisma.js';

export interface LedgerContext extends RequestContext {
  readonly prisma: LedgerPrisma;
  readonly env: LedgerEnv;
}
