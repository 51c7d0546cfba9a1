// The settlement file parser: what the simulator writes parses; anything malformed is rejected
// with its line and column, and nothing is returned.
import { parseSettlementCsv, SettlementFileError } from './settlement-csv.js';

const HEADER = 'balance_transaction_id,created_utc,available_on_utc,currency,gross,fee,net,reporting_category,source_id,payment_intent_id,description';
const CHARGE = 'txn_1,2026-05-31T12:00:00Z,2026-06-02T12:00:00Z,usd,100.00,3.20,96.80,charge,ch_1,pi_1,Order 1';
const DAY = '2026-05-31';

function errorOf(text: string): SettlementFileError {
  try {
    parseSettlementCsv(text, DAY);
  } catch (error) {
    if (error instanceof SettlementFileError) return error;
    throw error;
  }
  throw new Error('expected a SettlementFileError');
}

describe('parseSettlementCsv', () => {
  it('parses lines into minor units, upper-case currencies and nulls for empty ids', () => {
    const lines = parseSettlementCsv(
      [HEADER, CHARGE, 'txn_2,2026-05-31T13:00:00Z,2026-05-31T13:00:00Z,jpy,-500,0,-500,refund,re_1,pi_1,', 'txn_3,2026-05-31T14:00:00Z,,usd,-1.00,0.00,-1.00,other_adjustment,,,"a ""quoted"", description\nover two lines"', ''].join('\n'),
      DAY,
    );
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatchObject({ balanceTransactionId: 'txn_1', currency: 'USD', grossMinor: 10_000n, feeMinor: 320n, netMinor: 9_680n, sourceId: 'ch_1', paymentIntentId: 'pi_1', reportingCategory: 'charge' });
    expect(lines[1]).toMatchObject({ currency: 'JPY', grossMinor: -500n, description: null });
    expect(lines[2]).toMatchObject({ sourceId: null, paymentIntentId: null, availableOn: null, description: 'a "quoted", description\nover two lines' });
  });

  it('accepts CRLF line ends and a header-only file', () => {
    expect(parseSettlementCsv(`${HEADER}\r\n${CHARGE}\r\n`, DAY)).toHaveLength(1);
    expect(parseSettlementCsv(`${HEADER}\n`, DAY)).toEqual([]);
  });

  it.each([
    ['an amount that is not a decimal', [HEADER, CHARGE, CHARGE.replace('txn_1', 'txn_2').replace('100.00', '1O0.00')], 3, 'gross'],
    ['too many decimals for the currency', [HEADER, CHARGE.replace('3.20', '3.205')], 2, 'fee'],
    ['net that is not gross minus fee', [HEADER, CHARGE.replace('96.80', '96.81')], 2, 'net'],
    ['an unknown currency', [HEADER, CHARGE.replace(',usd,', ',zzz,')], 2, 'currency'],
    ['a time that is not ISO 8601 UTC', [HEADER, CHARGE.replace('2026-05-31T12:00:00Z', '31/05/2026')], 2, 'created_utc'],
    ['a line of another day', [HEADER, CHARGE.replace('2026-05-31T12:00:00Z', '2026-06-01T00:00:00Z')], 2, 'created_utc'],
    ['a repeated balance transaction', [HEADER, CHARGE, CHARGE], 3, 'balance_transaction_id'],
    ['a missing column in the header', [HEADER.replace(',fee,', ',fees,'), CHARGE], 1, 'fee'],
    ['an amount beyond a bigint of minor units', [HEADER, CHARGE.replace('100.00', '92233720368547758.08').replace('96.80', '92233720368547754.88')], 2, 'gross'],
    ['a negative amount beyond a bigint of minor units', [HEADER, CHARGE.replace('3.20', '-92233720368547758.08').replace('96.80', '92233720368547858.08')], 2, 'fee'],
  ])('rejects %s, naming line and column', (_, rows, line, column) => {
    const error = errorOf(rows.join('\n'));
    expect(error.line).toBe(line);
    expect(error.column).toBe(column);
    expect(error.message).toContain(`line ${line}, column ${column}`);
  });

  it('rejects a line with the wrong number of fields and an unclosed quote', () => {
    expect(errorOf([HEADER, CHARGE, 'txn_9,2026-05-31T12:00:00Z,,usd,1.00'].join('\n')).line).toBe(3);
    expect(errorOf([HEADER, `${CHARGE.slice(0, -7)}"Order 1`].join('\n')).message).toMatch(/line 2: a quoted field is never closed/);
    expect(errorOf('').line).toBe(1);
  });
});
