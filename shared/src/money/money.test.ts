import fc from 'fast-check';
import { InvariantError } from '../invariant.js';
import {
  AmountFormatError,
  CurrencyMismatchError,
  SUPPORTED_CURRENCIES,
  UnknownCurrencyError,
  addMoney,
  allocateByRatios,
  computeFee,
  currencyExponent,
  formatAmount,
  isSupportedCurrency,
  maxAmountMinor,
  pspAmountStepMinor,
  money,
  parseAmount,
  percentageOfMinor,
  subtractMoney,
  sumMoney,
} from './index.js';

describe('currencies', () => {
  it('supports the required currencies with ISO 4217 exponents', () => {
    for (const code of ['USD', 'EUR', 'GBP', 'JPY', 'KWD', 'BHD', 'CHF', 'CAD', 'AUD', 'SEK', 'NOK', 'DKK', 'PLN']) {
      expect(isSupportedCurrency(code)).toBe(true);
    }
    expect(currencyExponent('USD')).toBe(2);
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('KWD')).toBe(3);
    expect(currencyExponent('BHD')).toBe(3);
  });

  it('rejects unknown and lower-case codes', () => {
    expect(isSupportedCurrency('XYZ')).toBe(false);
    expect(isSupportedCurrency('usd')).toBe(false);
    expect(() => currencyExponent('XYZ')).toThrow(UnknownCurrencyError);
    expect(() => money(1n, 'usd')).toThrow(UnknownCurrencyError);
  });

  it('documents the per-payment maximum', () => {
    expect(maxAmountMinor('USD')).toBe(99_999_999n);
    expect(maxAmountMinor('JPY')).toBe(99_999_999n);
    expect(maxAmountMinor('KWD')).toBe(99_999_999n);
    expect(() => maxAmountMinor('XYZ')).toThrow(UnknownCurrencyError);
  });

  it('never allows more than the PSP takes: Stripe amounts have at most eight digits in every currency', () => {
    for (const currency of SUPPORTED_CURRENCIES) {
      expect(maxAmountMinor(currency).toString().length).toBeLessThanOrEqual(8);
    }
  });

  it('sends three-decimal amounts to the PSP in tens of the minor unit, as Stripe requires', () => {
    expect(['KWD', 'BHD', 'JOD', 'OMR', 'TND'].map(pspAmountStepMinor)).toEqual([10n, 10n, 10n, 10n, 10n]);
    expect(['USD', 'JPY', 'EUR'].map(pspAmountStepMinor)).toEqual([1n, 1n, 1n]);
    expect(() => pspAmountStepMinor('XYZ')).toThrow(UnknownCurrencyError);
  });
});

describe('money arithmetic', () => {
  it('adds, subtracts and sums in one currency', () => {
    expect(addMoney(money(150n, 'USD'), money(50n, 'USD'))).toEqual({ amountMinor: 200n, currency: 'USD' });
    expect(subtractMoney(money(150n, 'USD'), money(200n, 'USD')).amountMinor).toBe(-50n);
    expect(sumMoney([money(1n, 'EUR'), money(2n, 'EUR')], 'EUR').amountMinor).toBe(3n);
    expect(sumMoney([], 'JPY')).toEqual({ amountMinor: 0n, currency: 'JPY' });
  });

  it('refuses to mix currencies', () => {
    expect(() => addMoney(money(1n, 'USD'), money(1n, 'EUR'))).toThrow(CurrencyMismatchError);
    expect(() => subtractMoney(money(1n, 'USD'), money(1n, 'EUR'))).toThrow(CurrencyMismatchError);
    expect(() => sumMoney([money(1n, 'USD')], 'EUR')).toThrow(CurrencyMismatchError);
  });

  it('rejects non-bigint amounts', () => {
    expect(() => money(1 as unknown as bigint, 'USD')).toThrow(InvariantError);
  });
});

describe('formatAmount / parseAmount', () => {
  it('formats examples', () => {
    expect(formatAmount(1999n, 'USD')).toBe('19.99');
    expect(formatAmount(-5n, 'USD')).toBe('-0.05');
    expect(formatAmount(0n, 'USD')).toBe('0.00');
    expect(formatAmount(100n, 'JPY')).toBe('100');
    expect(formatAmount(-100n, 'JPY')).toBe('-100');
    expect(formatAmount(1234n, 'KWD')).toBe('1.234');
    expect(formatAmount(5n, 'KWD')).toBe('0.005');
  });

  it('parses examples', () => {
    expect(parseAmount('19.99', 'USD')).toBe(1999n);
    expect(parseAmount('19.9', 'USD')).toBe(1990n);
    expect(parseAmount('19', 'USD')).toBe(1900n);
    expect(parseAmount('-1.50', 'USD')).toBe(-150n);
    expect(parseAmount('0.05', 'USD')).toBe(5n);
    expect(parseAmount('100', 'JPY')).toBe(100n);
    expect(parseAmount('1.234', 'KWD')).toBe(1234n);
  });

  it.each([
    ['19.999', 'USD'],
    ['1e3', 'USD'],
    ['1E3', 'USD'],
    [' 1.00', 'USD'],
    ['1.00 ', 'USD'],
    ['1 000', 'USD'],
    ['', 'USD'],
    ['-', 'USD'],
    ['+1', 'USD'],
    ['1.', 'USD'],
    ['.5', 'USD'],
    ['01', 'USD'],
    ['1,00', 'USD'],
    ['0x10', 'USD'],
    ['NaN', 'USD'],
    ['1.5', 'JPY'],
    ['100.', 'JPY'],
    ['1.2345', 'KWD'],
    ['9'.repeat(65), 'USD'],
  ])('rejects %j in %s', (input, currency) => {
    expect(() => parseAmount(input, currency)).toThrow(AmountFormatError);
  });

  it('rejects unknown currencies', () => {
    expect(() => parseAmount('1', 'XYZ')).toThrow(UnknownCurrencyError);
    expect(() => formatAmount(1n, 'XYZ')).toThrow(UnknownCurrencyError);
  });

  it('round-trips for every supported currency (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 20n), max: 10n ** 20n }),
        fc.constantFrom(...SUPPORTED_CURRENCIES),
        (amountMinor, currency) => {
          expect(parseAmount(formatAmount(amountMinor, currency), currency)).toBe(amountMinor);
        },
      ),
      { numRuns: 2000 },
    );
  });
});

describe('allocateByRatios', () => {
  it('splits with the largest remainder and earlier-index tie-break', () => {
    expect(allocateByRatios(100n, [1n, 1n, 1n])).toEqual([34n, 33n, 33n]);
    expect(allocateByRatios(-100n, [1n, 1n, 1n])).toEqual([-34n, -33n, -33n]);
    expect(allocateByRatios(5n, [0n, 1n, 1n])).toEqual([0n, 3n, 2n]);
    expect(allocateByRatios(10000n, [6000n, 4000n])).toEqual([6000n, 4000n]);
    expect(allocateByRatios(1n, [1n, 2n])).toEqual([0n, 1n]);
    expect(allocateByRatios(0n, [3n])).toEqual([0n]);
  });

  it('rejects bad ratios', () => {
    expect(() => allocateByRatios(1n, [])).toThrow(InvariantError);
    expect(() => allocateByRatios(1n, [0n, 0n])).toThrow(InvariantError);
    expect(() => allocateByRatios(1n, [1n, -1n])).toThrow(InvariantError);
  });

  it('parts sum to the total, each within 1 of the exact share, symmetric for negatives (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.array(fc.bigInt({ min: 0n, max: 10n ** 9n }), { minLength: 1, maxLength: 20 }),
        (totalMinor, rawRatios) => {
          const ratios = rawRatios.some((r) => r > 0n) ? rawRatios : [...rawRatios.slice(1), 1n];
          const ratioSum = ratios.reduce((a, b) => a + b, 0n);
          const parts = allocateByRatios(totalMinor, ratios);
          expect(parts).toHaveLength(ratios.length);
          expect(parts.reduce((a, b) => a + b, 0n)).toBe(totalMinor);
          parts.forEach((part, i) => {
            const ratio = ratios[i] ?? 0n;
            // |part * ratioSum - total * ratio| < ratioSum  <=>  |part - exact| < 1
            const diff = part * ratioSum - totalMinor * ratio;
            expect(diff < ratioSum && diff > -ratioSum).toBe(true);
            if (ratio === 0n) expect(part).toBe(0n);
          });
          expect(allocateByRatios(-totalMinor, ratios)).toEqual(parts.map((p) => -p));
        },
      ),
      { numRuns: 1000 },
    );
  });
});

describe('percentageOfMinor / computeFee', () => {
  it('rounds as named', () => {
    expect(percentageOfMinor(10000n, 290n, 'half-up')).toBe(290n);
    expect(percentageOfMinor(50n, 100n, 'half-up')).toBe(1n); // 0.5 → 1
    expect(percentageOfMinor(49n, 100n, 'half-up')).toBe(0n); // 0.49 → 0
    expect(percentageOfMinor(-50n, 100n, 'half-up')).toBe(-1n); // away from zero
    expect(percentageOfMinor(199n, 100n, 'down')).toBe(1n);
    expect(percentageOfMinor(-199n, 100n, 'down')).toBe(-1n);
    expect(() => percentageOfMinor(1n, -1n, 'down')).toThrow(InvariantError);
  });

  it('matches the exact rational with half-up rounding (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: -(10n ** 15n), max: 10n ** 15n }),
        fc.bigInt({ min: 0n, max: 100_000n }),
        (amountMinor, bps) => {
          const result = percentageOfMinor(amountMinor, bps, 'half-up');
          const exactTimes10000 = amountMinor * bps;
          // |result - exact| <= 1/2, and exactly 1/2 only when rounding away from zero
          const diff = result * 10000n - exactTimes10000;
          expect(diff <= 5000n && diff >= -5000n).toBe(true);
          if (diff === 5000n) expect(exactTimes10000 > 0n).toBe(true);
          if (diff === -5000n) expect(exactTimes10000 < 0n).toBe(true);
          const down = percentageOfMinor(amountMinor, bps, 'down');
          const downDiff = exactTimes10000 - down * 10000n;
          if (amountMinor >= 0n) expect(downDiff >= 0n && downDiff < 10000n).toBe(true);
          else expect(downDiff <= 0n && downDiff > -10000n).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('computes the platform fee from the architecture example', () => {
    expect(computeFee(10000n, { percentBps: 290n, fixedMinor: 0n })).toBe(290n);
    expect(computeFee(10000n, { percentBps: 290n, fixedMinor: 30n })).toBe(320n);
    expect(computeFee(10n, { percentBps: 290n, fixedMinor: 30n })).toBe(10n);
    expect(computeFee(0n, { percentBps: 290n, fixedMinor: 30n })).toBe(0n);
    expect(() => computeFee(-1n, { percentBps: 290n, fixedMinor: 0n })).toThrow(InvariantError);
  });

  it('never exceeds the amount and is never negative (property)', () => {
    fc.assert(
      fc.property(
        fc.bigInt({ min: 0n, max: 10n ** 15n }),
        fc.bigInt({ min: 0n, max: 1_000_000n }),
        fc.bigInt({ min: 0n, max: 10n ** 6n }),
        (amountMinor, percentBps, fixedMinor) => {
          const fee = computeFee(amountMinor, { percentBps, fixedMinor });
          expect(fee >= 0n && fee <= amountMinor).toBe(true);
        },
      ),
      { numRuns: 2000 },
    );
  });
});
