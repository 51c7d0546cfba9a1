// Runs the simulator as a process: env → logger → simulator; graceful stop on SIGINT/SIGTERM.
import pino from 'pino';
import { readEnv } from './env.js';
import { startSimulator } from './server.js';

const shutdownTimeoutMs = 10_000;

async function main(): Promise<void> {
  const env = readEnv();
  const logger = pino({ name: 'psp-simulator', level: env.LOG_LEVEL });
  const simulator = await startSimulator({
    port: env.PSP_PORT,
    host: env.PSP_HOST,
    publicUrl: env.PSP_PUBLIC_URL,
    webhookUrl: env.PSP_WEBHOOK_URL,
    webhookEvents: env.PSP_WEBHOOK_EVENTS,
    webhookSecret: env.STRIPE_WEBHOOK_SECRET,
    databaseUrl: env.PSP_DATABASE_URL,
    logger,
    config: {
      feePercentBps: env.PSP_FEE_PERCENT_BPS,
      feeFixedMinor: env.PSP_FEE_FIXED_MINOR,
      payoutDelayMs: env.PSP_PAYOUT_DELAY_MS,
      disputeDelayMs: env.PSP_DISPUTE_DELAY_MS,
      refundDelayMs: env.PSP_REFUND_DELAY_MS,
      processingDelayMs: env.PSP_PROCESSING_DELAY_MS,
      availableDays: env.PSP_AVAILABLE_DAYS,
      webhookRetryBaseMs: Math.max(1, env.PSP_WEBHOOK_RETRY_BASE_MS),
      webhookMaxAttempts: Math.max(1, env.PSP_WEBHOOK_MAX_ATTEMPTS),
    },
  });
  logger.info({ url: env.PSP_PUBLIC_URL, webhookUrl: env.PSP_WEBHOOK_URL, webhookEvents: env.PSP_WEBHOOK_EVENTS }, 'psp simulator started');
  let stopping = false;
  const shutdown = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'psp simulator stopping');
    const forced = setTimeout(() => process.exit(1), shutdownTimeoutMs);
    forced.unref();
    simulator.stop().then(
      () => {
        logger.info('psp simulator stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'psp simulator: unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => shutdown('SIGINT'));
  process.on('SIGTERM', () => shutdown('SIGTERM'));
}

main().catch((error: unknown) => {
  process.stderr.write(`psp-simulator failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
