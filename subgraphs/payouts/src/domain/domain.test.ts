import fc from 'fast-check';
import { DomainError } from '@clearhouse/shared';
import {
  PAYOUT_STATUSES, canTransition, convertMinor, destinationFor, findRate, isFinalPayoutStatus, minimumPayoutMinor,
  parseDestinations, parseFxRates, parseRate, payoutStatusFromPsp, reservationRefusal, transitionPayout,
  validatePayoutRequest, wholeBalanceAmountMinor, classifyPspFailure,
} from './index.js';

function codeOf(run: () => void): string | undefined {
  try {
    run();
    return undefined;
  } catch (error) {
    return error instanceof DomainError ? error.code : 'not a DomainError';
  }
}

describe('payout state machine', () => {
  it('moves only forward through the table', () => {
    expect(transitionPayout('PENDING', 'PROCESSING')).toMatchObject({ ok: true });
    expect(transitionPayout('PENDING', 'FAILED')).toMatchObject({ ok: true });
    expect(transitionPayout('PENDING', 'CANCELED')).toMatchObject({ ok: true });
    expect(transitionPayout('PROCESSING', 'PAID')).toMatchObject({ ok: true });
    expect(transitionPayout('PROCESSING', 'FAILED')).toMatchObject({ ok: true });
    expect(transitionPayout('PENDING', 'PAID')).toMatchObject({ ok: false, code: 'ILLEGAL_TRANSITION' });
    expect(transitionPayout('PAID', 'FAILED')).toMatchObject({ ok: false, code: 'ILLEGAL_TRANSITION' });
    expect(transitionPayout('FAILED', 'PAID')).toMatchObject({ ok: false, code: 'ILLEGAL_TRANSITION' });
    expect(transitionPayout('PROCESSING', 'PENDING')).toMatchObject({ ok: false, code: 'ILLEGAL_TRANSITION' });
  });

  it('reports a repeated status apart from an illegal one', () => {
    for (const status of PAYOUT_STATUSES) expect(transitionPayout(status, status)).toMatchObject({ ok: false, code: 'ALREADY_IN_STATE' });
  });

  it('final statuses have no way out, and no status can be reached again (no cycles)', () => {
    const order: Record<string, number> = { PENDING: 0, PROCESSING: 1, PAID: 2, FAILED: 2, CANCELED: 2 };
    for (const from of PAYOUT_STATUSES) {
      for (const to of PAYOUT_STATUSES) {
        if (canTransition(from, to)) expect(order[to]).toBeGreaterThan(order[from] ?? 0);
        if (isFinalPayoutStatus(from)) expect(canTransition(from, to)).toBe(false);
      }
    }
  });

  it('maps the PSP statuses onto ours', () => {
    expect(payoutStatusFromPsp('pending')).toBe('PROCESSING');
    expect(payoutStatusFromPsp('in_transit')).toBe('PROCESSING');
    expect(payoutStatusFromPsp('paid')).toBe('PAID');
    expect(payoutStatusFromPsp('failed')).toBe('FAILED');
    expect(payoutStatusFromPsp('canceled')).toBe('FAILED');
  });
});

describe('payout amount rules', () => {
  it('scales the minimum by the currency exponent', () => {
    expect(minimumPayoutMinor(1n, 'USD')).toBe(100n);
    expect(minimumPayoutMinor(1n, 'JPY')).toBe(1n);
    expect(minimumPayoutMinor(5n, 'KWD')).toBe(5000n);
    expect(minimumPayoutMinor(0n, 'USD')).toBe(1n);
  });

  it('validates seller, currency, amount and minimum', () => {
    const ok = { sellerId: 's1', currency: 'USD', amountMinor: 100n };
    expect(codeOf(() => validatePayoutRequest(ok, 1n))).toBeUndefined();
    expect(codeOf(() => validatePayoutRequest({ ...ok, amountMinor: null }, 1n))).toBeUndefined();
    expect(codeOf(() => validatePayoutRequest({ ...ok, sellerId: 'bad id' }, 1n))).toBe('INVALID_INPUT');
    expect(codeOf(() => validatePayoutRequest({ ...ok, currency: 'XXX' }, 1n))).toBe('CURRENCY_NOT_SUPPORTED');
    expect(codeOf(() => validatePayoutRequest({ ...ok, currency: 'usd' }, 1n))).toBe('CURRENCY_NOT_SUPPORTED');
    expect(codeOf(() => validatePayoutRequest({ ...ok, amountMinor: 0n }, 1n))).toBe('INVALID_INPUT');
    expect(codeOf(() => validatePayoutRequest({ ...ok, amountMinor: -5n }, 1n))).toBe('INVALID_INPUT');
    expect(codeOf(() => validatePayoutRequest({ ...ok, amountMinor: 99n }, 1n))).toBe('PAYOUT_BELOW_MINIMUM');
    expect(codeOf(() => validatePayoutRequest({ ...ok, amountMinor: 100_000_000n }, 1n))).toBe('INVALID_INPUT');
    expect(codeOf(() => validatePayoutRequest({ sellerId: 's1', currency: 'JPY', amountMinor: 1n }, 1n))).toBeUndefined();
  });

  it('caps a whole-balance payout at the per-payout bound', () => {
    expect(wholeBalanceAmountMinor(500n, 'USD')).toBe(500n);
    expect(wholeBalanceAmountMinor(10n ** 12n, 'USD')).toBe(99_999_999n);
  });

  it('explains a refused reservation', () => {
    const whole = { sellerId: 's1', currency: 'USD', amountMinor: null };
    expect(reservationRefusal(whole, 50n, 1n).code).toBe('PAYOUT_BELOW_MINIMUM');
    expect(reservationRefusal(whole, 0n, 1n).code).toBe('INSUFFICIENT_FUNDS');
    expect(reservationRefusal(whole, -10n, 1n).code).toBe('INSUFFICIENT_FUNDS');
    expect(reservationRefusal({ ...whole, amountMinor: 500n }, 200n, 1n).code).toBe('INSUFFICIENT_FUNDS');
  });

  it('classifies PSP failures', () => {
    expect(classifyPspFailure('rejected')).toBe('permanent');
    for (const kind of ['timeout', 'connection', 'server', 'rate_limited', 'in_use'] as const) expect(classifyPspFailure(kind)).toBe('retryable');
  });
});

describe('FX', () => {
  it('parses rates as exact fractions, with inverses', () => {
    expect(parseRate('1.08')).toEqual({ numerator: 27n, denominator: 25n });
    const table = parseFxRates('EUR/USD=1.08, GBP/USD=1.25');
    expect(findRate(table, 'EUR', 'USD')).toEqual({ numerator: 27n, denominator: 25n });
    expect(findRate(table, 'USD', 'EUR')).toEqual({ numerator: 25n, denominator: 27n });
    expect(findRate(table, 'USD', 'JPY')).toBeUndefined();
    expect(() => parseFxRates('EUR/USD=0')).toThrow();
    expect(() => parseFxRates('EUR-USD=1.1')).toThrow();
    expect(() => parseFxRates('EUR/XXX=1.1')).toThrow();
  });

  it('converts half-up across exponents', () => {
    expect(convertMinor(1000n, 'EUR', 'USD', parseRate('1.08'))).toBe(1080n);
    expect(convertMinor(1n, 'EUR', 'USD', parseRate('1.5'))).toBe(2n); // 1.5 → 2 (half-up)
    expect(convertMinor(1n, 'EUR', 'USD', parseRate('1.49'))).toBe(1n);
    expect(convertMinor(100n, 'USD', 'JPY', parseRate('150.5'))).toBe(151n); // $1.00 → ¥150.5 → ¥151
    expect(convertMinor(151n, 'JPY', 'USD', { numerator: 2n, denominator: 301n })).toBe(100n);
  });

  it('conversion is monotonic and within half a minor unit of the exact value', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: 10n ** 10n }), fc.bigInt({ min: 1n, max: 10n ** 6n }), fc.bigInt({ min: 1n, max: 10n ** 6n }), (amountMinor, numerator, denominator) => {
        const rate = { numerator, denominator };
        const converted = convertMinor(amountMinor, 'EUR', 'JPY', rate);
        // exact = amount * n / (d * 100); |2 * (converted * d * 100) - 2 * amount * n| <= d * 100
        const scaledDivisor = denominator * 100n;
        const error = 2n * converted * scaledDivisor - 2n * amountMinor * numerator;
        expect(error <= scaledDivisor && error > -scaledDivisor - 1n).toBe(true);
        expect(convertMinor(amountMinor + 1n, 'EUR', 'JPY', rate) >= converted).toBe(true);
      }),
    );
  });
});

describe('destinations', () => {
  it('maps configured sellers and defaults to ba_<sellerId>', () => {
    const table = parseDestinations('s1=ba_custom, s2=ba_usd:USD');
    expect(destinationFor(table, 's1')).toEqual({ destination: 'ba_custom', currency: null });
    expect(destinationFor(table, 's2')).toEqual({ destination: 'ba_usd', currency: 'USD' });
    expect(destinationFor(table, 'seller9_fail_closed')).toEqual({ destination: 'ba_seller9_fail_closed', currency: null });
    expect(() => parseDestinations('s1')).toThrow();
  });
});
