import { createLogger, runUntilSignal } from '@clearhouse/shared';
import { startWallet } from './app.js';
import { loadWalletEnv } from './env.js';

const env = loadWalletEnv();
const logger = createLogger({ service: 'wallet', level: env.LOG_LEVEL });
runUntilSignal('wallet', logger, async () => (await startWallet(env, logger)).parts);
