// Custom scalars of the contract (BigInt, DateTime, JSON). Inputs are parsed strictly: money
// amounts and timestamps that are "almost right" are rejected with a message naming the rule,
// never coerced.
import { GraphQLError, GraphQLScalarType, Kind, valueFromASTUntyped, type ValueNode } from 'graphql';

// BigInt is stored in Postgres BIGINT, so values beyond a signed 64-bit integer cannot exist.
export const BIGINT_MAX = 9_223_372_036_854_775_807n;
const BIGINT_MIN = -9_223_372_036_854_775_808n;
const UNSIGNED_DIGITS = /^(0|[1-9][0-9]*)$/;
const SIGNED_DIGITS = /^-?(0|[1-9][0-9]*)$/;
// 2^63-1 has 19 digits; longer strings are rejected before BigInt() spends time on them.
const BIGINT_DIGITS_MAX = 19;

const BIGINT_INPUT_RULE =
  'BigInt input must be a non-negative integer up to 9223372036854775807, given as a string of digits (no sign, spaces, decimals or leading zeros) or as an Int';

function bigIntInputError(detail: string, node?: ValueNode): GraphQLError {
  return new GraphQLError(`${BIGINT_INPUT_RULE}; ${detail}`, node === undefined ? {} : { nodes: [node] });
}

function parseUnsignedDigits(text: string, node?: ValueNode): bigint {
  if (text.length > BIGINT_DIGITS_MAX + 1 || !UNSIGNED_DIGITS.test(text)) {
    throw bigIntInputError(`got ${JSON.stringify(text.slice(0, 40))}`, node);
  }
  const value = BigInt(text);
  if (value > BIGINT_MAX) throw bigIntInputError('value is above 9223372036854775807', node);
  return value;
}

function parseBigIntValue(value: unknown): bigint {
  if (typeof value === 'string') return parseUnsignedDigits(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw bigIntInputError(
        Number.isInteger(value) && value >= 0
          ? 'numbers above 2^53-1 lose precision in JSON; send a string'
          : `got the number ${value}`,
      );
    }
    return BigInt(value);
  }
  if (typeof value === 'bigint') {
    if (value < 0n || value > BIGINT_MAX) throw bigIntInputError(`got ${value}`);
    return value;
  }
  throw bigIntInputError(`got a value of type ${value === null ? 'null' : typeof value}`);
}

function parseBigIntLiteral(node: ValueNode): bigint {
  if (node.kind === Kind.STRING) return parseUnsignedDigits(node.value, node);
  // Int literals are digits with an optional '-'; GraphQL's grammar rules out leading zeros.
  if (node.kind === Kind.INT) return parseUnsignedDigits(node.value, node);
  throw bigIntInputError(`got a ${node.kind} literal`, node);
}

function serializeBigInt(value: unknown): string {
  if (typeof value === 'bigint') {
    if (value < BIGINT_MIN || value > BIGINT_MAX) throw new GraphQLError(`BigInt cannot represent ${value}: outside 64 bits`);
    return value.toString();
  }
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value).toString();
  if (typeof value === 'string' && SIGNED_DIGITS.test(value) && value.length <= BIGINT_DIGITS_MAX + 1) {
    return serializeBigInt(BigInt(value));
  }
  throw new GraphQLError(`BigInt cannot represent ${typeof value === 'string' ? JSON.stringify(value.slice(0, 40)) : typeof value}`);
}

export const BigIntScalar = new GraphQLScalarType<bigint, string>({
  name: 'BigInt',
  description:
    'Integer amount in minor units, serialized as a string of digits (e.g. "1999"). Inputs accept a string or an Int.',
  serialize: serializeBigInt,
  parseValue: parseBigIntValue,
  parseLiteral: parseBigIntLiteral,
});

// Strict ISO 8601 date-time with an explicit offset: 2024-01-31T12:00:00Z,
// 2024-01-31T12:00:00.123+02:00. No date-only forms, no local times, no lower-case 't'/'z'.
const DATE_TIME_PATTERN =
  /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:(Z)|([+-])(\d{2}):(\d{2}))$/;
const DATE_TIME_RULE = 'DateTime must be ISO 8601 with a timezone, e.g. 2024-01-31T12:00:00Z or 2024-01-31T14:00:00+02:00';

const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function daysInMonth(year: number, month: number): number {
  const isLeapYear = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return month === 2 && isLeapYear ? 29 : (DAYS_IN_MONTH[month - 1] ?? 0);
}

export function parseDateTimeStrict(text: string): Date | null {
  if (text.length > 40) return null;
  const match = DATE_TIME_PATTERN.exec(text);
  if (match === null) return null;
  const [, y, mo, d, h, mi, s, fraction = '', zulu, sign, offsetH = '00', offsetMi = '00'] = match;
  const year = Number(y);
  const month = Number(mo);
  const day = Number(d);
  const hour = Number(h);
  const minute = Number(mi);
  const second = Number(s);
  const offsetHours = Number(offsetH);
  const offsetMinutes = Number(offsetMi);
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  if (zulu === undefined && (offsetHours > 23 || offsetMinutes > 59)) return null;
  const millisecond = Number(fraction.padEnd(3, '0').slice(0, 3));
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  date.setUTCHours(hour, minute, second, millisecond);
  const offsetMs = zulu === undefined ? (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000 : 0;
  const result = new Date(date.getTime() - offsetMs);
  return Number.isNaN(result.getTime()) ? null : result;
}

function parseDateTimeValue(value: unknown, node?: ValueNode): Date {
  if (typeof value !== 'string') {
    throw new GraphQLError(`${DATE_TIME_RULE}; got a value of type ${typeof value}`, node === undefined ? {} : { nodes: [node] });
  }
  const date = parseDateTimeStrict(value);
  if (date === null) {
    throw new GraphQLError(`${DATE_TIME_RULE}; got ${JSON.stringify(value.slice(0, 40))}`, node === undefined ? {} : { nodes: [node] });
  }
  return date;
}

function serializeDateTime(value: unknown): string {
  const date = value instanceof Date ? value : typeof value === 'string' ? parseDateTimeStrict(value) : null;
  if (date === null || Number.isNaN(date.getTime())) {
    throw new GraphQLError('DateTime cannot represent a value that is not a valid Date or ISO 8601 string');
  }
  return date.toISOString();
}

export const DateTimeScalar = new GraphQLScalarType<Date, string>({
  name: 'DateTime',
  description: 'ISO 8601 date-time in UTC.',
  serialize: serializeDateTime,
  parseValue: (value) => parseDateTimeValue(value),
  parseLiteral: (node) => {
    if (node.kind !== Kind.STRING) throw new GraphQLError(`${DATE_TIME_RULE}; got a ${node.kind} literal`, { nodes: [node] });
    return parseDateTimeValue(node.value, node);
  },
});

const JSON_DEPTH_MAX = 32;

// Outgoing JSON must survive JSON.stringify: bigints (amounts in event payloads) become digit
// strings, like the BigInt scalar, and Dates become ISO strings.
function toJsonValue(value: unknown, depth: number): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (value === null || typeof value !== 'object') return value;
  if (depth >= JSON_DEPTH_MAX) throw new GraphQLError(`JSON cannot represent values nested deeper than ${JSON_DEPTH_MAX}`);
  if (Array.isArray(value)) return value.map((item) => toJsonValue(item, depth + 1));
  const copy: Record<string, unknown> = {};
  for (const [key, field] of Object.entries(value)) copy[key] = toJsonValue(field, depth + 1);
  return copy;
}

export const JSONScalar = new GraphQLScalarType<unknown, unknown>({
  name: 'JSON',
  description: 'Any JSON value.',
  serialize: (value) => toJsonValue(value, 0),
  parseValue: (value) => value,
  // valueFromASTUntyped handles objects, lists, nulls and variables nested anywhere.
  parseLiteral: (node, variables) => valueFromASTUntyped(node, variables ?? undefined),
});

export const scalarResolvers = {
  BigInt: BigIntScalar,
  DateTime: DateTimeScalar,
  JSON: JSONScalar,
};
