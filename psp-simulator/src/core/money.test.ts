import { cardFeeMinor, currencyExponent, divideRoundHalfUp, formatMajor } from './money.js';

describe('money', () => {
  it('rounds half up', () => {
    expect(divideRoundHalfUp(5n, 10n)).toBe(1n);
    expect(divideRoundHalfUp(4n, 10n)).toBe(0n);
    expect(divideRoundHalfUp(15n, 10n)).toBe(2n);
    expect(divideRoundHalfUp(-15n, 10n)).toBe(-2n);
  });

  it('takes 2.9% + 30 by default, rounding half up', () => {
    const rule = { percentBps: 290, fixedMinor: 30 };
    expect(cardFeeMinor(1000, rule)).toBe(59);
    expect(cardFeeMinor(12_345, rule)).toBe(388); // 358.005 → 358
    expect(cardFeeMinor(50, rule)).toBe(31); // 1.45 → 1
    expect(cardFeeMinor(1_000_000, { percentBps: 150, fixedMinor: 0 })).toBe(15_000);
    expect(cardFeeMinor(1001, { percentBps: 150, fixedMinor: 0 })).toBe(15); // 15.015 → 15
    expect(cardFeeMinor(1100, { percentBps: 50, fixedMinor: 0 })).toBe(6); // 5.5 → 6
  });

  it('formats major units per currency exponent', () => {
    expect(currencyExponent('JPY')).toBe(0);
    expect(currencyExponent('kwd')).toBe(3);
    expect(currencyExponent('eur')).toBe(2);
    expect(formatMajor(12_345, 'usd')).toBe('123.45');
    expect(formatMajor(-5, 'eur')).toBe('-0.05');
    expect(formatMajor(500, 'jpy')).toBe('500');
    expect(formatMajor(-1234, 'bhd')).toBe('-1.234');
    expect(formatMajor(0, 'gbp')).toBe('0.00');
  });
});
