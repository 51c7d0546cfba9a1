import { closeSync } from 'node:fs';
import { deleteBrokerObjects } from '@clearhouse/shared/testkit';
import { dropAllDatabases } from '../../../scripts/lib/databases';

export default async function globalTeardown(): Promise<void> {
  const platform = globalThis.__CLEARHOUSE_PLATFORM__;
  if (platform) {
    await platform.stop();
    await dropAllDatabases(platform.env);
    await deleteBrokerObjects(platform.env.BROKER_PREFIX!, platform.env.AMQP_URL);
  }
  if (globalThis.__CLEARHOUSE_LOG_FD__ !== undefined) closeSync(globalThis.__CLEARHOUSE_LOG_FD__);
}
