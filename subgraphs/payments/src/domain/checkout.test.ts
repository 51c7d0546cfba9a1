import fc from 'fast-check';
import { InputValidationError } from '@clearhouse/shared';
import { splitOrderFees, validateCheckoutInput, type CreateCheckoutInput } from './checkout.js';

const base: CreateCheckoutInput = { idempotencyKey: 'k1', buyerId: 'buyer_1', currency: 'USD', orders: [{ sellerId: 's1', amountMinor: 100n }] };

function errorsOf(input: Partial<CreateCheckoutInput>): { code: string; field: string | undefined }[] {
  try {
    validateCheckoutInput({ ...base, ...input });
    return [];
  } catch (error) {
    if (!(error instanceof InputValidationError)) throw error;
    return error.userErrors.map((e) => ({ code: e.code, field: e.field?.join('.') }));
  }
}

describe('validateCheckoutInput', () => {
  test('accepts a valid checkout and totals the orders', () => {
    const valid = validateCheckoutInput({ ...base, orders: [{ sellerId: 's1', amountMinor: 100n, reference: 'a' }, { sellerId: 's2', amountMinor: 250n, reference: 'a' }] });
    expect(valid.totalMinor).toBe(350n);
    expect(valid.orders[1]).toEqual({ sellerId: 's2', amountMinor: 250n, reference: 'a' });
  });

  test.each([
    [{ currency: 'ABC' }, 'CURRENCY_NOT_SUPPORTED', 'input.currency'],
    [{ orders: [{ sellerId: 's1', amountMinor: 0n }] }, 'INVALID_INPUT', 'input.orders.0.amountMinor'],
    [{ orders: [{ sellerId: 's1', amountMinor: -1n }] }, 'INVALID_INPUT', 'input.orders.0.amountMinor'],
    [{ orders: [{ sellerId: 's1', amountMinor: 100_000_000n }] }, 'INVALID_INPUT', 'input.orders.0.amountMinor'],
    [{ currency: 'JPY', orders: [{ sellerId: 's1', amountMinor: 99_999_999n }, { sellerId: 's2', amountMinor: 1n }] }, 'INVALID_INPUT', 'input.orders'],
    [{ orders: [] }, 'INVALID_INPUT', 'input.orders'],
    [{ orders: Array.from({ length: 51 }, () => ({ sellerId: 's', amountMinor: 1n })) }, 'INVALID_INPUT', 'input.orders'],
    [{ orders: [{ sellerId: 's1', amountMinor: 1n, reference: 'r' }, { sellerId: 's1', amountMinor: 2n, reference: 'r' }] }, 'INVALID_INPUT', 'input.orders.1.reference'],
    [{ buyerId: 'has space' }, 'INVALID_INPUT', 'input.buyerId'],
    [{ orders: [{ sellerId: '', amountMinor: 1n }] }, 'INVALID_INPUT', 'input.orders.0.sellerId'],
    [{ idempotencyKey: '' }, 'INVALID_INPUT', 'input.idempotencyKey'],
    [{ returnUrl: 'ftp://x' }, 'INVALID_INPUT', 'input.returnUrl'],
    [{ metadata: 'text' }, 'INVALID_INPUT', 'input.metadata'],
    [{ metadata: { a: 'x'.repeat(5000) } }, 'INVALID_INPUT', 'input.metadata'],
    // Stripe takes three-decimal amounts only in tens of the minor unit.
    [{ currency: 'KWD', orders: [{ sellerId: 's1', amountMinor: 12_340n }, { sellerId: 's2', amountMinor: 12_345n }] }, 'INVALID_INPUT', 'input.orders.1.amountMinor'],
    [{ currency: 'BHD', orders: [{ sellerId: 's1', amountMinor: 1n }] }, 'INVALID_INPUT', 'input.orders.0.amountMinor'],
  ] as [Partial<CreateCheckoutInput>, string, string][])('%j → %s at %s', (input, code, field) => {
    expect(errorsOf(input)).toContainEqual({ code, field });
  });

  test('three-decimal currencies take multiples of ten; other currencies any minor unit', () => {
    expect(errorsOf({ currency: 'KWD', orders: [{ sellerId: 's1', amountMinor: 12_340n }, { sellerId: 's2', amountMinor: 10n }] })).toEqual([]);
    expect(errorsOf({ currency: 'USD', orders: [{ sellerId: 's1', amountMinor: 12_345n }] })).toEqual([]);
    expect(errorsOf({ currency: 'JPY', orders: [{ sellerId: 's1', amountMinor: 1n }] })).toEqual([]);
  });

  test('three-decimal currencies are capped at the PSP\'s eight digits too (100,000 KWD is 100,000,000 minor units: nine)', () => {
    expect(errorsOf({ currency: 'KWD', orders: [{ sellerId: 's1', amountMinor: 100_000_000n }] })).toEqual([{ code: 'INVALID_INPUT', field: 'input.orders.0.amountMinor' }]);
    expect(errorsOf({ currency: 'BHD', orders: [{ sellerId: 's1', amountMinor: 99_999_990n }, { sellerId: 's2', amountMinor: 10n }] })).toEqual([{ code: 'INVALID_INPUT', field: 'input.orders' }]);
    expect(errorsOf({ currency: 'KWD', orders: [{ sellerId: 's1', amountMinor: 99_999_980n }, { sellerId: 's2', amountMinor: 10n }] })).toEqual([]);
  });

  test('the same reference at two different sellers is fine', () => {
    expect(errorsOf({ orders: [{ sellerId: 's1', amountMinor: 1n, reference: 'r' }, { sellerId: 's2', amountMinor: 1n, reference: 'r' }] })).toEqual([]);
  });
});

describe('splitOrderFees', () => {
  test('2.9% half-up per order: the architecture example', () => {
    expect(splitOrderFees([6000n, 4000n], { percentBps: 290n, fixedMinor: 0n })).toEqual([
      { amountMinor: 6000n, feeMinor: 174n, netAmountMinor: 5826n },
      { amountMinor: 4000n, feeMinor: 116n, netAmountMinor: 3884n },
    ]);
  });

  test('rounding half-up: 50 cents at 2.9% is 1.45 → 1; 52 cents is 1.508 → 2', () => {
    expect(splitOrderFees([50n, 52n], { percentBps: 290n, fixedMinor: 0n }).map((s) => s.feeMinor)).toEqual([1n, 2n]);
  });

  test('property: fee + net = amount, 0 ≤ fee ≤ amount, for any amount and schedule', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 999_999_999n }), fc.bigInt({ min: 0n, max: 10_000n }), fc.bigInt({ min: 0n, max: 10_000n }), (amountMinor, percentBps, fixedMinor) => {
        const [split] = splitOrderFees([amountMinor], { percentBps, fixedMinor });
        return split !== undefined && split.feeMinor + split.netAmountMinor === amountMinor && split.feeMinor >= 0n && split.feeMinor <= amountMinor;
      }),
    );
  });
});
