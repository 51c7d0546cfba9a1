import { z } from 'zod';
import { DomainError } from '../errors/index.js';
import { PoisonMessageError } from './envelope.js';
import { NonRetryableError, RetryableError, classifyError, describeError } from './failures.js';

// Error shapes as Prisma 7 with @prisma/adapter-pg actually throws them (observed against
// PostgreSQL 15): a PrismaClientKnownRequestError P2010 carrying the driver adapter's cause.
function prismaRawError(cause: Record<string, unknown>) {
  const err = new Error('Invalid `prisma.$executeRawUnsafe()` invocation: Raw query failed.') as Error & Record<string, unknown>;
  err.name = 'PrismaClientKnownRequestError';
  err.code = 'P2010';
  err.meta = { driverAdapterError: { name: 'DriverAdapterError', cause } };
  return err;
}

function withProps(message: string, props: Record<string, unknown>): Error {
  return Object.assign(new Error(message), props);
}

test.each([
  ['RetryableError', new RetryableError('later')],
  ['serialization failure via Prisma', prismaRawError({ originalCode: '40001', kind: 'TransactionWriteConflict' })],
  ['deadlock via Prisma', prismaRawError({ originalCode: '40P01', kind: 'TransactionWriteConflict' })],
  ['database unreachable via Prisma', prismaRawError({ kind: 'DatabaseNotReachable', host: '127.0.0.1', port: 5999 })],
  ['Prisma P2034 write conflict', withProps('write conflict', { code: 'P2034' })],
  ['Prisma P2028 transaction timeout', withProps('expired transaction', { code: 'P2028' })],
  ['pg serialization failure', withProps('could not serialize', { code: '40001' })],
  ['pg deadlock', withProps('deadlock detected', { code: '40P01' })],
  ['pg admin shutdown', withProps('terminating connection', { code: '57P01' })],
  ['ECONNREFUSED', withProps('connect ECONNREFUSED', { code: 'ECONNREFUSED' })],
  ['ECONNRESET', withProps('socket hang up', { code: 'ECONNRESET' })],
  ['ETIMEDOUT', withProps('timeout', { code: 'ETIMEDOUT' })],
  ['EPIPE', withProps('broken pipe', { code: 'EPIPE' })],
  ['HTTP 503 (statusCode)', withProps('PSP unavailable', { statusCode: 503 })],
  ['HTTP 502 (status)', withProps('bad gateway', { status: 502 })],
  ['HTTP 429', withProps('slow down', { statusCode: 429 })],
  ['TimeoutError', Object.assign(new Error('took too long'), { name: 'TimeoutError' })],
  ['retryable DomainError', new DomainError('PSP_UNAVAILABLE', 'psp down')],
  ['wrapped cause', new Error('outer', { cause: withProps('inner', { code: 'ECONNRESET' }) })],
  ['unknown error (bounded by the tiers anyway)', new Error('something odd')],
])('%s is retryable', (_label, err) => {
  expect(classifyError(err)).toBe('retryable');
});

test.each([
  ['NonRetryableError', new NonRetryableError('never')],
  ['zod validation', (() => { try { z.object({ a: z.string() }).parse({ a: 1 }); } catch (e) { return e; } })()],
  ['JSON parse error', (() => { try { JSON.parse('{'); } catch (e) { return e; } })()],
  ['poison message', new PoisonMessageError('body is not JSON')],
  ['business DomainError', new DomainError('INVALID_STATE', 'already refunded')],
  ['DomainError marked not retryable', new DomainError('PSP_UNAVAILABLE', 'psp down', { retryable: false })],
  ['HTTP 400', withProps('bad request', { statusCode: 400 })],
])('%s is non-retryable', (_label, err) => {
  expect(classifyError(err)).toBe('non-retryable');
});

test('describeError is one bounded line', () => {
  const text = describeError(new Error('a\n  b'.repeat(400)), 100);
  expect(text).not.toContain('\n');
  expect(text.length).toBeLessThanOrEqual(100);
});
