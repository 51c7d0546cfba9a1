// The ledger's consumers, one file each; every one posts through the same use case.
import type { ConsumerDefinition } from '@clearhouse/shared';
import { disputeLostConsumer } from './dispute-lost.consumer.js';
import { disputeOpenedConsumer } from './dispute-opened.consumer.js';
import { disputeWonConsumer } from './dispute-won.consumer.js';
import { orderDeliveredConsumer } from './order-delivered.consumer.js';
import { paymentSucceededConsumer } from './payment-succeeded.consumer.js';
import { payoutFailedConsumer } from './payout-failed.consumer.js';
import { payoutPaidConsumer } from './payout-paid.consumer.js';
import { payoutRequestedConsumer } from './payout-requested.consumer.js';
import type { LedgerConsumerOptions } from './posting-consumer.js';
import { pspFeeBookedConsumer } from './psp-fee-booked.consumer.js';
import { refundReversedConsumer } from './refund-reversed.consumer.js';
import { refundSucceededConsumer } from './refund-succeeded.consumer.js';

export type { LedgerConsumerOptions };

export function ledgerConsumers(options: LedgerConsumerOptions): ConsumerDefinition<unknown>[] {
  return [
    paymentSucceededConsumer(options),
    orderDeliveredConsumer(options),
    refundSucceededConsumer(options),
    refundReversedConsumer(options),
    payoutRequestedConsumer(options),
    payoutPaidConsumer(options),
    payoutFailedConsumer(options),
    disputeOpenedConsumer(options),
    disputeWonConsumer(options),
    disputeLostConsumer(options),
    pspFeeBookedConsumer(options),
  ] as ConsumerDefinition<unknown>[];
}
