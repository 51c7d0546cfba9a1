import { Writable } from 'node:stream';
import { createLogger, currentCorrelationId, maskCardNumbers, withCorrelationId } from './index.js';

function memoryStream(): { stream: Writable; lines: () => Record<string, unknown>[]; text: () => string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(chunk.toString('utf8'));
      callback();
    },
  });
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter((line) => line.length > 0)
      .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { stream, lines, text };
}

const VISA = '4242 4242 4242 4242';
const VISA_DIGITS = '4242424242424242';
const NON_LUHN = '1234567812345678';

describe('maskCardNumbers', () => {
  it.each([
    [`card ${VISA} ok`, 'card **** **** **** 4242 ok'],
    ['4242-4242-4242-4242', '****-****-****-4242'],
    [VISA_DIGITS, '************4242'],
    ['amex 378282246310005.', 'amex ***********0005.'],
    [`${VISA} 2030`, '**** **** **** 4242 2030'],
    [`order 12 ${VISA}`, 'order 12 **** **** **** 4242'],
  ])('masks %j', (input, expected) => {
    expect(maskCardNumbers(input)).toBe(expected);
  });

  it.each([NON_LUHN, '2024-01-15T10:00:00Z', 'amount 1999', '+1 555-123-4567', '42424242424242424242424'])(
    'leaves %j alone',
    (input) => {
      expect(maskCardNumbers(input)).toBe(input);
    },
  );
});

describe('createLogger', () => {
  it('writes JSON lines with service, level and time', () => {
    const { stream, lines } = memoryStream();
    const logger = createLogger({ service: 'payments', destination: stream });
    logger.info({ orderId: 'o1' }, 'hello');
    const [line] = lines();
    expect(line).toMatchObject({ service: 'payments', level: 'info', msg: 'hello', orderId: 'o1' });
    expect(typeof line?.['time']).toBe('string');
    expect(line).not.toHaveProperty('correlationId');
  });

  it('respects the level', () => {
    const { stream, lines } = memoryStream();
    const logger = createLogger({ service: 's', level: 'warn', destination: stream });
    logger.info('hidden');
    logger.warn('shown');
    expect(lines().map((line) => line['msg'])).toEqual(['shown']);
  });

  it('redacts secrets and masks PANs in messages and nested fields', () => {
    const { stream, text, lines } = memoryStream();
    const logger = createLogger({ service: 'payments', destination: stream });
    const input = {
      req: { headers: { authorization: 'Bearer sk_live_abc', cookie: 'session=s3cr3t', 'x-api-key': 'key_123' } },
      apiKey: 'ak_live_top',
      config: { stripe: { api_key: 'sk_test_nested', webhookSecret: 'whsec_zzz' } },
      user: { password: 'hunter2', profile: { token: 'tok_abc' } },
      body: { card: { number: VISA, note: `paid with ${VISA_DIGITS}` }, list: [VISA] },
      reference: NON_LUHN,
    };
    logger.info(input, `charging ${VISA}`);
    logger.info('printf %s', VISA_DIGITS);
    logger.error(new Error(`declined ${VISA}`));
    logger.error({ err: new Error(`declined again ${VISA_DIGITS}`) });
    logger.child({ pan: VISA_DIGITS, session: { token: 'tok_child' } }).info('child');

    const output = text();
    for (const secret of ['sk_live_abc', 's3cr3t', 'key_123', 'ak_live_top', 'sk_test_nested', 'whsec_zzz', 'hunter2', 'tok_abc', 'tok_child', VISA, VISA_DIGITS]) {
      expect(output).not.toContain(secret);
    }
    expect(output).toContain(NON_LUHN);
    const [first, second, third, fourth] = lines();
    expect(first?.['msg']).toBe('charging **** **** **** 4242');
    expect(first?.['apiKey']).toBe('[Redacted]');
    expect((first?.['req'] as { headers: Record<string, string> }).headers['authorization']).toBe('[Redacted]');
    expect(second?.['msg']).toBe('printf ************4242');
    expect(third?.['msg']).toBe('declined **** **** **** 4242');
    expect((third?.['err'] as { type: string; stack: string }).type).toBe('Error');
    expect(fourth?.['msg']).toBe('declined again ************4242');
    // the caller's object is not mutated
    expect(input.apiKey).toBe('ak_live_top');
    expect(input.body.card.number).toBe(VISA);
  });

  it('handles circular and deep objects without throwing', () => {
    const { stream, lines } = memoryStream();
    const logger = createLogger({ service: 's', destination: stream });
    const circular: Record<string, unknown> = { name: 'loop' };
    circular['self'] = circular;
    let deep: Record<string, unknown> = { pan: VISA_DIGITS };
    for (let i = 0; i < 20; i += 1) deep = { next: deep };
    logger.info({ circular, deep }, 'shapes');
    expect(lines()).toHaveLength(1);
    expect(JSON.stringify(lines())).not.toContain(VISA_DIGITS);
  });

  it('adds the correlation id inside withCorrelationId, across awaits and in child loggers', async () => {
    const { stream, lines } = memoryStream();
    const logger = createLogger({ service: 'orders', destination: stream });
    expect(currentCorrelationId()).toBeUndefined();
    await withCorrelationId('corr-1', async () => {
      logger.info('before');
      await new Promise((resolve) => setTimeout(resolve, 5));
      expect(currentCorrelationId()).toBe('corr-1');
      logger.child({ component: 'relay' }).info('after');
    });
    logger.info('outside');
    const [before, after, outside] = lines();
    expect(before?.['correlationId']).toBe('corr-1');
    expect(after).toMatchObject({ correlationId: 'corr-1', component: 'relay', service: 'orders' });
    expect(outside).not.toHaveProperty('correlationId');
  });

  it('rejects bad options', () => {
    expect(() => createLogger({ service: '' })).toThrow();
    expect(() => createLogger({ service: 's', level: 'loud' })).toThrow();
    expect(() => withCorrelationId('', () => 1)).toThrow();
  });
});
