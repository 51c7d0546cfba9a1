// The wallet's consumers, one file each: the wallet changes only through these (and the
// reservation API the payouts flow will call).
import type { ConsumerDefinition } from '@clearhouse/shared';
import { disputeLostConsumer } from './dispute-lost.consumer.js';
import { disputeOpenedConsumer } from './dispute-opened.consumer.js';
import { disputeWonConsumer } from './dispute-won.consumer.js';
import { orderDeliveredConsumer } from './order-delivered.consumer.js';
import { paymentSucceededConsumer } from './payment-succeeded.consumer.js';
import { payoutFailedConsumer } from './payout-failed.consumer.js';
import { payoutPaidConsumer } from './payout-paid.consumer.js';
import { payoutRequestedConsumer } from './payout-requested.consumer.js';
import { refundReversedConsumer } from './refund-reversed.consumer.js';
import { refundSucceededConsumer } from './refund-succeeded.consumer.js';

export const walletConsumers: readonly ConsumerDefinition<unknown>[] = [
  paymentSucceededConsumer,
  orderDeliveredConsumer,
  refundSucceededConsumer,
  refundReversedConsumer,
  payoutRequestedConsumer,
  payoutPaidConsumer,
  payoutFailedConsumer,
  disputeOpenedConsumer,
  disputeWonConsumer,
  disputeLostConsumer,
] as ConsumerDefinition<unknown>[];
