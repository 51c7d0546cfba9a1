import { randomBytes } from 'node:crypto';
import { openSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { freePorts, REPO_ROOT, startPlatform, type RunningPlatform } from '../../../scripts/lib/platform';
import { prepareAllDatabases } from '../../../scripts/lib/databases';

declare global {
  var __CLEARHOUSE_PLATFORM__: RunningPlatform | undefined;
  var __CLEARHOUSE_LOG_FD__: number | undefined;
}

export default async function globalSetup(): Promise<void> {
  const runId = randomBytes(4).toString('hex');
  const env: Record<string, string | undefined> = {
    ...process.env,
    NODE_ENV: 'test',
    LOG_LEVEL: process.env.E2E_LOG_LEVEL ?? 'info',
    DATABASE_PREFIX: `clearhouse_test_e2e_${runId}`,
    BROKER_PREFIX: `t_e2e_${runId}`,
    INTERNAL_SIGNING_SECRET: `e2e-signing-secret-${runId}`,
    CLEARHOUSE_PLATFORM_KEY: `e2e_platform_${runId}`,
    CLEARHOUSE_OPS_KEY: `e2e_ops_${runId}`,
    // Pay-in: lost webhooks are caught up within seconds, PSP timeouts are short, and one
    // buyer / one seller are blocked for the risk tests (tests/e2e/payin-*.test.ts).
    PAYMENT_RECHECK_INTERVAL_MS: '1000',
    PAYMENT_RECHECK_MIN_AGE_MS: '1000',
    PAYMENT_RECHECK_DELAY_MS_MAX: '3000',
    PSP_TIMEOUT_MS: '1500',
    PSP_RETRY_BACKOFF_MS: '100',
    RISK_BLOCKED_BUYER_IDS: 'e2e_blocked_buyer',
    RISK_BLOCKED_SELLER_IDS: 'e2e_blocked_seller',
    RISK_PAYMENT_AMOUNT_MAJOR_MAX: '100000',
  };
  await prepareAllDatabases(env, () => undefined);
  const logDir = join(REPO_ROOT, 'tests', '.logs');
  mkdirSync(logDir, { recursive: true });
  const logFd = openSync(join(logDir, `e2e-${runId}.log`), 'a');
  const platform = await startPlatform({ env, ports: await freePorts(), stdio: logFd });
  globalThis.__CLEARHOUSE_PLATFORM__ = platform;
  globalThis.__CLEARHOUSE_LOG_FD__ = logFd;
  process.env.E2E_PLATFORM = JSON.stringify({ urls: platform.urls, env: platform.env, logFile: join(logDir, `e2e-${runId}.log`) });
}
