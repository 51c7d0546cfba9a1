import { Writable } from 'node:stream';
import { z } from 'zod';
import { createLogger } from '../logging/index.js';
import {
  DomainError,
  InputValidationError,
  USER_ERROR_CODES,
  isDomainError,
  toPayloadErrors,
  userError,
  zodIssuesToUserErrors,
} from './index.js';

describe('userError', () => {
  it('stringifies numeric path segments', () => {
    expect(userError('INVALID_INPUT', 'bad amount', ['input', 'orders', 0, 'amountMinor'])).toEqual({
      code: 'INVALID_INPUT',
      field: ['input', 'orders', '0', 'amountMinor'],
      message: 'bad amount',
    });
    expect(userError('NOT_FOUND', 'no such order').field).toBeNull();
  });

  it('lists exactly the contract codes', () => {
    expect(USER_ERROR_CODES).toHaveLength(12);
    expect(USER_ERROR_CODES).toContain('PAYOUT_BELOW_MINIMUM');
  });
});

describe('DomainError', () => {
  it('carries code, field, retryable and cause', () => {
    const cause = new Error('socket hang up');
    const error = new DomainError('PSP_UNAVAILABLE', 'payment provider unavailable', { cause });
    expect(error).toBeInstanceOf(Error);
    expect(isDomainError(error)).toBe(true);
    expect(error.retryable).toBe(true);
    expect(error.cause).toBe(cause);
    expect(error.field).toBeNull();
    const notFound = new DomainError('NOT_FOUND', 'order not found', { field: ['input', 'orderId'] });
    expect(notFound.retryable).toBe(false);
    expect(notFound.toUserError()).toEqual({ code: 'NOT_FOUND', field: ['input', 'orderId'], message: 'order not found' });
    expect(new DomainError('INVALID_STATE', 'x', { retryable: true }).retryable).toBe(true);
    expect(isDomainError(new Error('x'))).toBe(false);
    expect(() => new DomainError('NOPE' as never, 'x')).toThrow(TypeError);
  });
});

describe('zodIssuesToUserErrors', () => {
  it('maps every issue with the prefix', () => {
    const schema = z.object({ orders: z.array(z.object({ amountMinor: z.bigint().positive() })), currency: z.string().length(3) });
    const result = schema.safeParse({ orders: [{ amountMinor: 0n }], currency: 'US' });
    expect(result.success).toBe(false);
    if (result.success) return;
    const errors = zodIssuesToUserErrors(result.error.issues, ['input']);
    expect(errors.map((e) => e.field)).toEqual([
      ['input', 'orders', '0', 'amountMinor'],
      ['input', 'currency'],
    ]);
    expect(errors.every((e) => e.code === 'INVALID_INPUT' && e.message.length > 0)).toBe(true);
  });
});

describe('toPayloadErrors', () => {
  it('maps DomainErrors to userErrors and logs them', () => {
    const lines: string[] = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        lines.push(chunk.toString());
        callback();
      },
    });
    const logger = createLogger({ service: 't', destination });
    expect(toPayloadErrors(new DomainError('INSUFFICIENT_FUNDS', 'not enough'), logger)).toEqual([
      { code: 'INSUFFICIENT_FUNDS', field: null, message: 'not enough' },
    ]);
    expect(lines.join('')).toContain('INSUFFICIENT_FUNDS');
  });

  it('returns every userError of an InputValidationError', () => {
    const error = new InputValidationError([
      userError('INVALID_INPUT', 'a', ['input', 'a']),
      userError('INVALID_INPUT', 'b', ['input', 'b']),
    ]);
    expect(isDomainError(error)).toBe(true);
    expect(toPayloadErrors(error)).toHaveLength(2);
    const fromZod = InputValidationError.fromZodIssues(
      z.object({ a: z.string() }).safeParse({}).error?.issues ?? [],
      ['input'],
    );
    expect(toPayloadErrors(fromZod)[0]?.field).toEqual(['input', 'a']);
  });

  it('rethrows anything else unchanged', () => {
    const bug = new TypeError('undefined is not a function');
    expect(() => toPayloadErrors(bug)).toThrow(bug);
    expect(() => toPayloadErrors('string')).toThrow();
  });
});
