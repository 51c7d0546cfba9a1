import { createLogger, runUntilSignal } from '@clearhouse/shared';
import { loadGatewayEnv } from './env.js';
import { startGateway } from './server.js';

const env = loadGatewayEnv();
const logger = createLogger({ service: 'gateway', level: env.LOG_LEVEL });
runUntilSignal('gateway', logger, async () => (await startGateway(env, logger)).parts);
