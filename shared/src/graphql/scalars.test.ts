import { GraphQLError, GraphQLObjectType, GraphQLSchema, graphql, parseValue, type ValueNode } from 'graphql';
import { money } from '../money/index.js';
import { BigIntScalar, DateTimeScalar, JSONScalar, moneyToGraphQL, scalarResolvers } from './index.js';

const literal = (source: string): ValueNode => parseValue(source);

describe('BigIntScalar', () => {
  it('serializes to strings of digits', () => {
    expect(BigIntScalar.serialize(1999n)).toBe('1999');
    expect(BigIntScalar.serialize(-5n)).toBe('-5');
    expect(BigIntScalar.serialize(42)).toBe('42');
    expect(BigIntScalar.serialize('123')).toBe('123');
    expect(BigIntScalar.serialize('-123')).toBe('-123');
    expect(() => BigIntScalar.serialize(1.5)).toThrow(GraphQLError);
    expect(() => BigIntScalar.serialize('12.5')).toThrow(GraphQLError);
    expect(() => BigIntScalar.serialize(true)).toThrow(GraphQLError);
  });

  it.each([
    ['0', 0n],
    ['1999', 1999n],
    ['9223372036854775807', 9223372036854775807n],
  ])('parseValue accepts %j', (input, expected) => {
    expect(BigIntScalar.parseValue(input)).toBe(expected);
  });

  it('parseValue accepts safe non-negative integer numbers', () => {
    expect(BigIntScalar.parseValue(1999)).toBe(1999n);
    expect(BigIntScalar.parseValue(0)).toBe(0n);
    expect(BigIntScalar.parseValue(Number.MAX_SAFE_INTEGER)).toBe(9007199254740991n);
  });

  it.each([
    ['9223372036854775808'],
    ['99999999999999999999999'],
    ['12.5'],
    ['-1'],
    ['+1'],
    [' 1'],
    ['1 '],
    [''],
    ['01'],
    ['1e3'],
    ['0x10'],
    [1.5],
    [-1],
    [2 ** 53],
    [Number.NaN],
    [Infinity],
    [true],
    [false],
    [null],
    [{}],
    [[1]],
  ])('parseValue rejects %j', (input) => {
    expect(() => BigIntScalar.parseValue(input)).toThrow(GraphQLError);
  });

  it('names the rule in its error message', () => {
    expect(() => BigIntScalar.parseValue('-1')).toThrow(/non-negative integer up to 9223372036854775807/);
    expect(() => BigIntScalar.parseValue('9223372036854775808')).toThrow(/above 9223372036854775807/);
  });

  it('parseLiteral accepts Int and digit-string literals', () => {
    expect(BigIntScalar.parseLiteral(literal('1999'))).toBe(1999n);
    expect(BigIntScalar.parseLiteral(literal('"1999"'))).toBe(1999n);
    expect(BigIntScalar.parseLiteral(literal('9223372036854775807'))).toBe(9223372036854775807n);
    expect(BigIntScalar.parseLiteral(literal('"9223372036854775807"'))).toBe(9223372036854775807n);
  });

  it.each(['9223372036854775808', '"9223372036854775808"', '-1', '"-1"', '1.5', '"12.5"', '" 1"', '""', 'true', 'null', '[1]', '{a: 1}', 'ENUM'])(
    'parseLiteral rejects %s',
    (source) => {
      expect(() => BigIntScalar.parseLiteral(literal(source))).toThrow(GraphQLError);
    },
  );
});

describe('DateTimeScalar', () => {
  it('serializes Dates as UTC ISO strings', () => {
    expect(DateTimeScalar.serialize(new Date(Date.UTC(2024, 0, 31, 12, 0, 0, 5)))).toBe('2024-01-31T12:00:00.005Z');
    expect(DateTimeScalar.serialize('2024-01-31T14:00:00+02:00')).toBe('2024-01-31T12:00:00.000Z');
    expect(() => DateTimeScalar.serialize(new Date(Number.NaN))).toThrow(GraphQLError);
    expect(() => DateTimeScalar.serialize(123)).toThrow(GraphQLError);
  });

  it.each([
    ['2024-01-31T12:00:00Z', '2024-01-31T12:00:00.000Z'],
    ['2024-01-31T12:00:00.123Z', '2024-01-31T12:00:00.123Z'],
    ['2024-01-31T12:00:00.123456789Z', '2024-01-31T12:00:00.123Z'],
    ['2024-01-31T14:30:00+02:30', '2024-01-31T12:00:00.000Z'],
    ['2024-01-31T07:00:00-05:00', '2024-01-31T12:00:00.000Z'],
    ['2024-02-29T00:00:00Z', '2024-02-29T00:00:00.000Z'],
    ['2000-02-29T00:00:00Z', '2000-02-29T00:00:00.000Z'],
    ['0099-01-01T00:00:00Z', '0099-01-01T00:00:00.000Z'],
  ])('accepts %s', (input, iso) => {
    expect((DateTimeScalar.parseValue(input) as Date).toISOString()).toBe(iso);
    expect((DateTimeScalar.parseLiteral(literal(JSON.stringify(input))) as Date).toISOString()).toBe(iso);
  });

  it.each([
    '2024-01-31',
    '2024-01-31T12:00:00',
    '2024-01-31 12:00:00Z',
    '2024-01-31t12:00:00z',
    '2024-02-30T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '1900-02-29T00:00:00Z',
    '2024-13-01T00:00:00Z',
    '2024-00-10T00:00:00Z',
    '2024-01-31T24:00:00Z',
    '2024-01-31T12:60:00Z',
    '2024-01-31T12:00:60Z',
    '2024-01-31T12:00:00+0200',
    '2024-01-31T12:00:00+24:00',
    '2024-01-31T12:00:00.Z',
    ' 2024-01-31T12:00:00Z',
    '',
    'yesterday',
  ])('rejects %j', (input) => {
    expect(() => DateTimeScalar.parseValue(input)).toThrow(GraphQLError);
  });

  it('rejects non-strings', () => {
    expect(() => DateTimeScalar.parseValue(1706702400000)).toThrow(GraphQLError);
    expect(() => DateTimeScalar.parseLiteral(literal('1706702400000'))).toThrow(GraphQLError);
  });
});

describe('JSONScalar', () => {
  it('passes values through and parses literals with variables', () => {
    expect(JSONScalar.serialize({ a: [1, 'x', null] })).toEqual({ a: [1, 'x', null] });
    expect(JSONScalar.parseValue([1, 2])).toEqual([1, 2]);
    expect(JSONScalar.serialize({ amountMinor: 1999n, at: new Date(0) })).toEqual({
      amountMinor: '1999',
      at: '1970-01-01T00:00:00.000Z',
    });
    expect(JSONScalar.parseLiteral(literal('{ a: 1, b: [true, "x", null, $v], c: { d: 1.5 } }'), { v: 'var' })).toEqual({
      a: 1,
      b: [true, 'x', null, 'var'],
      c: { d: 1.5 },
    });
  });
});

describe('scalars in a schema', () => {
  const Query = new GraphQLObjectType({
    name: 'Query',
    fields: {
      echo: {
        type: BigIntScalar,
        args: { value: { type: BigIntScalar } },
        resolve: (_root, args: { value: bigint }) => {
          expect(typeof args.value).toBe('bigint');
          return args.value + 1n;
        },
      },
      when: { type: DateTimeScalar, resolve: () => new Date(Date.UTC(2024, 0, 1)) },
    },
  });
  const schema = new GraphQLSchema({ query: Query });

  it('round-trips through execution', async () => {
    const result = await graphql({
      schema,
      source: 'query ($v: BigInt) { a: echo(value: "41") b: echo(value: $v) when }',
      variableValues: { v: '9223372036854775806' },
    });
    expect(result.errors).toBeUndefined();
    expect(result.data).toEqual({ a: '42', b: '9223372036854775807', when: '2024-01-01T00:00:00.000Z' });
  });

  it('reports bad variables as errors', async () => {
    const result = await graphql({ schema, source: 'query ($v: BigInt) { echo(value: $v) }', variableValues: { v: '-1' } });
    expect(result.errors?.[0]?.message).toMatch(/non-negative integer/);
  });

  it('exposes the resolver map', () => {
    expect(Object.keys(scalarResolvers)).toEqual(['BigInt', 'DateTime', 'JSON']);
    expect(scalarResolvers.BigInt.name).toBe('BigInt');
  });
});

describe('moneyToGraphQL', () => {
  it('adds the major-unit amount', () => {
    expect(moneyToGraphQL(money(1999n, 'USD'))).toEqual({ amountMinor: 1999n, currency: 'USD', amount: '19.99' });
    expect(moneyToGraphQL(money(1234n, 'KWD')).amount).toBe('1.234');
  });
});
