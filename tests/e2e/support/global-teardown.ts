import { closeSync, writeFileSync } from 'node:fs';
import { deleteBrokerObjects } from '@clearhouse/shared/testkit';
import { dropAllDatabases } from '../../../scripts/lib/databases';
import { finalAudit } from './final-audit';

export default async function globalTeardown(): Promise<void> {
  const platform = globalThis.__CLEARHOUSE_PLATFORM__;
  try {
    await auditAndStop(platform);
  } finally {
    if (platform) {
      await dropAllDatabases(platform.env);
      await deleteBrokerObjects(platform.env.BROKER_PREFIX!, platform.env.AMQP_URL);
    }
    if (globalThis.__CLEARHOUSE_LOG_FD__ !== undefined) closeSync(globalThis.__CLEARHOUSE_LOG_FD__);
  }
}

async function auditAndStop(platform: typeof globalThis.__CLEARHOUSE_PLATFORM__): Promise<void> {
  if (platform) {
    // npm test (scripts/test.ts) asks for the verdict in a file, so a failed audit is counted in
    // its closing line; run directly, a failed audit fails the Jest run.
    const resultFile = process.env.E2E_AUDIT_RESULT_FILE;
    try {
      const summary = await finalAudit(platform);
      process.stdout.write(`\n${summary}\n`);
      if (resultFile) writeFileSync(resultFile, JSON.stringify({ ok: true, summary }));
    } catch (error) {
      if (!resultFile) throw error;
      process.stderr.write(`\n${String(error)}\n`);
      writeFileSync(resultFile, JSON.stringify({ ok: false, summary: String(error) }));
    } finally {
      await platform.stop();
    }
  }
}
