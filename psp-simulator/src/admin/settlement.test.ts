import type { BalanceTransaction } from '../core/types.js';
import { settlementCsv, utcDayRange } from './settlement.js';

function transaction(overrides: Partial<BalanceTransaction>): BalanceTransaction {
  return {
    id: 'txn_1',
    object: 'balance_transaction',
    amount: 12_345,
    currency: 'usd',
    created: Date.UTC(2024, 4, 31, 23, 59, 59) / 1000,
    available_on: Date.UTC(2024, 5, 2, 23, 59, 59) / 1000,
    description: 'Order, "special"',
    fee: 388,
    fee_details: [],
    net: 11_957,
    reporting_category: 'charge',
    source: 'ch_1',
    status: 'pending',
    type: 'charge',
    __sim: { paymentIntentId: 'pi_1' },
    ...overrides,
  };
}

describe('settlement CSV', () => {
  it('parses real UTC days only', () => {
    expect(utcDayRange('2024-05-31')).toEqual({ startSeconds: Date.UTC(2024, 4, 31) / 1000, endSeconds: Date.UTC(2024, 5, 1) / 1000 });
    expect(utcDayRange('2024-02-29')).toBeDefined();
    expect(utcDayRange('2023-02-29')).toBeUndefined();
    expect(utcDayRange('2024-13-01')).toBeUndefined();
    expect(utcDayRange('24-05-31')).toBeUndefined();
  });

  it('writes major units, ISO times and escapes fields', () => {
    const csv = settlementCsv([transaction({}), transaction({ id: 'txn_2', currency: 'jpy', amount: -500, fee: 0, net: -500, source: null, description: null, __sim: {} })]);
    expect(csv.split('\n')).toEqual([
      'balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,payment_intent_id,description',
      'txn_1,2024-05-31T23:59:59Z,2024-06-02T23:59:59Z,usd,123.45,3.88,119.57,charge,ch_1,pi_1,"Order, ""special"""',
      'txn_2,2024-05-31T23:59:59Z,2024-06-02T23:59:59Z,jpy,-500,0,-500,charge,,,',
      '',
    ]);
  });
});
