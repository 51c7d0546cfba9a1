import { createLogger, runUntilSignal } from '@clearhouse/shared';
import { startPayments } from './app.js';
import { loadPaymentsEnv } from './env.js';

const env = loadPaymentsEnv();
const logger = createLogger({ service: 'payments', level: env.LOG_LEVEL });
runUntilSignal('payments', logger, async () => (await startPayments(env, logger)).parts);
