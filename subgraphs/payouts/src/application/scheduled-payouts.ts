// The daily payout run: every seller whose available balance reaches the minimum is paid out in
// full, at most once per seller, currency and UTC day (idempotency key
// `scheduled:<sellerId>:<currency>:<YYYY-MM-DD>` under the scheduler's own caller).
import { isDomainError, isSupportedCurrency, systemCaller } from '@clearhouse/shared';
import { minimumPayoutMinor } from '../domain/rules.js';
import type { PayoutsDeps } from './deps.js';
import { requestPayout } from './request-payout.js';

export const SCHEDULER_CALLER = systemCaller('payouts-scheduler');
const PAGE_SIZE = 500;
const PAGES_MAX = 2_000;

export interface ScheduledRunSummary {
  day: string;
  requested: number;
  replayed: number;
  skipped: number;
  failed: number;
  /** False when the run stopped at its page cap with sellers left unvisited (logged with the cursor). */
  complete: boolean;
}

/** Bounds of one run: at most pagesMax pages of pageSize balances (tests pass small ones). */
export interface ScheduledRunLimits {
  pageSize?: number;
  pagesMax?: number;
}

export function scheduledIdempotencyKey(sellerId: string, currency: string, day: string): string {
  return `scheduled:${sellerId}:${currency}:${day}`;
}

export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

export async function runScheduledPayouts(deps: PayoutsDeps, at: Date = new Date(), limits: ScheduledRunLimits = {}): Promise<ScheduledRunSummary> {
  const { pageSize = PAGE_SIZE, pagesMax = PAGES_MAX } = limits;
  const day = utcDay(at);
  const summary: ScheduledRunSummary = { day, requested: 0, replayed: 0, skipped: 0, failed: 0, complete: false };
  let after: string | null = null;
  for (let page = 0; page < pagesMax; page++) {
    const { balances, nextCursor } = await deps.wallet.listAvailableBalances(1n, pageSize, after);
    for (const balance of balances) {
      if (!isSupportedCurrency(balance.currency) || balance.availableMinor < minimumPayoutMinor(deps.config.minimumMajor, balance.currency)) {
        summary.skipped++;
        continue;
      }
      try {
        const result = await requestPayout(deps, SCHEDULER_CALLER, {
          idempotencyKey: scheduledIdempotencyKey(balance.sellerId, balance.currency, day),
          sellerId: balance.sellerId,
          currency: balance.currency,
          amountMinor: null,
        });
        if (result.replayed) summary.replayed++;
        else summary.requested++;
      } catch (error) {
        if (isDomainError(error)) {
          summary.skipped++;
          deps.logger.info({ sellerId: balance.sellerId, currency: balance.currency, code: error.code }, `scheduled payout skipped: ${error.message}`);
        } else {
          summary.failed++;
          deps.logger.error({ sellerId: balance.sellerId, currency: balance.currency, err: error }, 'scheduled payout failed');
        }
      }
    }
    if (nextCursor === null) {
      summary.complete = true;
      break;
    }
    after = nextCursor;
  }
  if (summary.complete) deps.logger.info({ ...summary }, 'scheduled payout run finished');
  else deps.logger.warn({ ...summary, pagesMax, resumeAfter: after }, 'scheduled payout run stopped at its page cap: sellers after resumeAfter were not visited');
  return summary;
}
