// The ledger's consumer integration tests run on the shared harness (shared/src/testkit/consumers.ts)
// with the ledger's own database and PrismaClient.
import { createPgAdapter, type ConsumerDefinition } from '@clearhouse/shared';
import { startConsumerHarness as startHarness, type ConsumerHarness as Harness } from '@clearhouse/shared/testkit';
import { PrismaClient } from '../generated/prisma/client.js';

export { eventOf, waitFor } from '@clearhouse/shared/testkit';

export type ConsumerHarness = Harness<PrismaClient>;

export function startConsumerHarness(consumers: ConsumerDefinition<unknown>[]): Promise<ConsumerHarness> {
  return startHarness({ subgraph: 'ledger', createClient: (url) => new PrismaClient({ adapter: createPgAdapter(url, { poolMax: 10 }) }), consumers });
}
