import type { Sim } from '../core/sim.js';
import type { Params } from './params.js';

export interface ApiCall {
  sim: Sim;
  params: Params;
  pathParams: Record<string, string>;
  path: string;
}

/** API handlers are synchronous: all state is in memory; the router awaits the write-through. */
export type ApiHandler = (call: ApiCall) => object;
