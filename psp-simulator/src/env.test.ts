import { parseEnv } from './env.js';

function webhookEvents(value: string | undefined): string[] | undefined {
  return parseEnv(value === undefined ? {} : { PSP_WEBHOOK_EVENTS: value }).env?.PSP_WEBHOOK_EVENTS;
}

function problems(value: string): string[] {
  return parseEnv({ PSP_WEBHOOK_EVENTS: value }).problems ?? [];
}

describe('PSP_WEBHOOK_EVENTS', () => {
  it('defaults to * (every event)', () => {
    expect(webhookEvents(undefined)).toEqual(['*']);
  });

  it('splits on commas and trims whitespace', () => {
    expect(webhookEvents(' payment_intent.* ,charge.refunded,\tcharge.dispute.* ')).toEqual(['payment_intent.*', 'charge.refunded', 'charge.dispute.*']);
    expect(webhookEvents('*')).toEqual(['*']);
    expect(webhookEvents('payment_intent.succeeded')).toEqual(['payment_intent.succeeded']);
  });

  it.each([
    ['', 'PSP_WEBHOOK_EVENTS: is empty: must list at least one event type, or * for all'],
    ['  ', 'PSP_WEBHOOK_EVENTS: is empty: must list at least one event type, or * for all'],
    [',payment_intent.*', 'PSP_WEBHOOK_EVENTS: entry 1 is empty'],
    ['payment_intent.*,', 'PSP_WEBHOOK_EVENTS: entry 2 is empty'],
    ['payment_intent.*,,charge.refunded', 'PSP_WEBHOOK_EVENTS: entry 2 is empty'],
    ['payment intent.succeeded', 'PSP_WEBHOOK_EVENTS: "payment intent.succeeded" is not an event type'],
    ['payment_intent.*.created', 'PSP_WEBHOOK_EVENTS: "payment_intent.*.created" is not an event type'],
    ['charge.refunded;payout.*', 'PSP_WEBHOOK_EVENTS: "charge.refunded;payout.*" is not an event type'],
  ])('refuses %j', (value, problem) => {
    const found = problems(value);
    expect(found).toHaveLength(1);
    expect(found[0]).toContain(problem);
  });

  it('reports every bad entry at once, along with the other variables', () => {
    const result = parseEnv({ PSP_WEBHOOK_EVENTS: 'a b,,payment_intent.*,c*d', PSP_PORT: 'x' });
    expect(result.env).toBeUndefined();
    expect(result.problems).toHaveLength(4);
    expect(result.problems?.filter((problem) => problem.startsWith('PSP_WEBHOOK_EVENTS: '))).toHaveLength(3);
    expect(result.problems?.some((problem) => problem.startsWith('PSP_PORT: '))).toBe(true);
  });

  it('leaves the other defaults untouched', () => {
    const { env } = parseEnv({});
    expect(env).toMatchObject({ PSP_PORT: 4010, PSP_WEBHOOK_URL: 'http://localhost:4001/webhooks/stripe', PSP_WEBHOOK_EVENTS: ['*'] });
  });
});
