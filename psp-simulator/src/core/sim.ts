// Everything a resource handler needs, composed once in server.ts.
import type { Logger } from 'pino';
import type { Clock } from './clock.js';
import type { RuntimeConfig } from './config.js';
import type { EventBus } from './events.js';
import type { FaultState } from './faults.js';
import type { JobScheduler } from './jobs.js';
import type { RequestLog } from './requestLog.js';
import type { Store } from '../store/store.js';
import type { WriteBehind } from '../store/writeBehind.js';

export interface Sim {
  config: RuntimeConfig;
  clock: Clock;
  store: Store;
  writer: WriteBehind;
  jobs: JobScheduler;
  events: EventBus;
  log: RequestLog;
  faults: FaultState;
  logger: Logger;
  publicUrl: string;
}
