import { closeSync } from 'node:fs';
import { dropAllDatabases } from '../../../scripts/lib/databases';

export default async function globalTeardown(): Promise<void> {
  const platform = globalThis.__CLEARHOUSE_PLATFORM__;
  if (platform) {
    await platform.stop();
    await dropAllDatabases(platform.env);
  }
  if (globalThis.__CLEARHOUSE_LOG_FD__ !== undefined) closeSync(globalThis.__CLEARHOUSE_LOG_FD__);
}
