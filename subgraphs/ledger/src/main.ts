import { createLogger, runUntilSignal } from '@clearhouse/shared';
import { startLedger } from './app.js';
import { loadLedgerEnv } from './env.js';

const env = loadLedgerEnv();
const logger = createLogger({ service: 'ledger', level: env.LOG_LEVEL });
runUntilSignal('ledger', logger, async () => (await startLedger(env, logger)).parts);
