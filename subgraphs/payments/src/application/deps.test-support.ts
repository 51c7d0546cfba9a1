// The dependencies the application-layer tests share: the store on a real test database, the
// PSP the test brings, silent logs and the service's usual policies; a test overrides only what
// it is about.
import { createLogger, type PgDatabase } from '@clearhouse/shared';
import { sqlPaymentsStore } from '../persistence/payments.js';
import type { PaymentsPsp } from '../psp/port.js';
import type { PaymentsDeps } from './deps.js';

export function testPaymentsDeps(pg: PgDatabase, psp: PaymentsPsp, overrides: Partial<PaymentsDeps> = {}): PaymentsDeps {
  return {
    store: sqlPaymentsStore(pg),
    sql: pg,
    psp,
    logger: createLogger({ service: 'test', level: 'silent' }),
    fees: { percentBps: 290n, fixedMinor: 0n },
    risk: { paymentAmountMajorMax: 100_000n, buyerPaymentsPerWindowMax: 100, buyerVelocityWindowMs: 60_000, blockedBuyerIds: new Set(), blockedSellerIds: new Set() },
    pspPolicy: { attemptsMax: 2, timeoutMs: 1_000, backoffMsBase: 1, backoffMsMax: 2 },
    recheck: { minAgeMs: 1_000, delayMsMax: 5_000 },
    aftersale: { deliveryHoldMs: 0, refundFeePolicy: 'platform_keeps_fee', disputeFeeBorneBy: 'platform', disputeLossBorneBy: 'seller' },
    onOutboxWritten: () => undefined,
    ...overrides,
  };
}
