import { createLogger, runUntilSignal } from '@clearhouse/shared';
import { startPayouts } from './app.js';
import { loadPayoutsEnv } from './env.js';

const env = loadPayoutsEnv();
const logger = createLogger({ service: 'payouts', level: env.LOG_LEVEL });
runUntilSignal('payouts', logger, async () => (await startPayouts(env, logger)).parts);
