// psp.fee_booked@1 → DR psp_fee_expense, CR psp_receivable.
import { postPspFeeBooked } from '../domain/index.js';
import { postingConsumer, type LedgerConsumerOptions } from './posting-consumer.js';

export const pspFeeBookedConsumer = (options: LedgerConsumerOptions) =>
  postingConsumer({ name: 'ledger.psp-fee-booked', eventKey: 'psp.fee_booked@1', rule: postPspFeeBooked }, options);
