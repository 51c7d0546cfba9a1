// A budget of failed authentications per client address (client-address.ts says which address).
// Every unknown key costs the payments subgraph a database lookup, so an address that has spent
// its budget is refused (RATE_LIMITED) before any lookup until the window is over; the per-key
// limit cannot help, as a guessed key has no budget of its own. Successes spend nothing, so busy
// clients with good keys never meet it.
import { RateLimiterMemory } from 'rate-limiter-flexible';
import type { Caller } from '@clearhouse/shared';
import { rateLimited } from '../errors.js';

const WINDOW_SECONDS = 60;

export class FailedAuthentications {
  private readonly limiter: RateLimiterMemory;

  constructor(private readonly failuresPerMinuteMax: number) {
    this.limiter = new RateLimiterMemory({ points: failuresPerMinuteMax, duration: WINDOW_SECONDS });
  }

  /**
   * The caller `resolve` finds, unless `address` has used up its failures (then RATE_LIMITED,
   * and `resolve` is not called). A null caller spends one failure. Concurrent requests checked
   * before any of their failures is counted may overshoot the budget once, by their number.
   */
  async authenticate(address: string, resolve: () => Promise<Caller | null>): Promise<Caller | null> {
    const spent = await this.limiter.get(address);
    if (spent && spent.consumedPoints >= this.failuresPerMinuteMax) throw rateLimited('too many failed authentications from this address');
    const caller = await resolve();
    if (!caller) await this.limiter.consume(address).catch(() => undefined);
    return caller;
  }
}
