// Zod schemas for the kinds of values environment variables carry. Each takes its default in
// the output type (a number for ports, a bigint for amounts) and parses the string form strictly.
import { z } from 'zod';
import { invariant } from '../invariant.js';

const INTEGER_PATTERN = /^-?(0|[1-9][0-9]*)$/;

export function envString(defaultValue?: string) {
  const schema = z.string().min(1);
  return defaultValue === undefined ? schema : schema.default(defaultValue);
}

export function envInt(defaultValue: number, bounds: { min?: number; max?: number } = {}) {
  const min = bounds.min ?? Number.MIN_SAFE_INTEGER;
  const max = bounds.max ?? Number.MAX_SAFE_INTEGER;
  invariant(Number.isSafeInteger(defaultValue) && defaultValue >= min && defaultValue <= max, 'envInt: default out of bounds');
  return z
    .string()
    .regex(INTEGER_PATTERN, 'must be an integer')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max))
    .default(defaultValue);
}

export function envPort(defaultPort: number) {
  return envInt(defaultPort, { min: 1, max: 65_535 });
}

const DURATION_PATTERN = /^(0|[1-9][0-9]{0,12})(ms|s|m|h)?$/;
const DURATION_UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

// Milliseconds, either bare ("1500") or with a unit suffix ("1500ms", "30s", "5m", "1h").
export function envDurationMs(defaultMs: number, bounds: { minMs?: number; maxMs?: number } = {}) {
  const minMs = bounds.minMs ?? 0;
  const maxMs = bounds.maxMs ?? 7 * 24 * 3_600_000;
  invariant(Number.isSafeInteger(defaultMs) && defaultMs >= minMs && defaultMs <= maxMs, 'envDurationMs: default out of bounds');
  return z
    .string()
    .regex(DURATION_PATTERN, 'must be a duration like 1500, 1500ms, 30s, 5m or 1h')
    .transform((text) => {
      const match = DURATION_PATTERN.exec(text);
      const amount = Number(match?.[1] ?? '0');
      return amount * (DURATION_UNIT_MS[match?.[2] ?? 'ms'] ?? 1);
    })
    .pipe(z.number().int().min(minMs).max(maxMs))
    .default(defaultMs);
}

const TRUE_WORDS = new Set(['true', '1', 'yes', 'on']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'off']);

export function envBoolean(defaultValue: boolean) {
  return z
    .string()
    .refine((text) => TRUE_WORDS.has(text.toLowerCase()) || FALSE_WORDS.has(text.toLowerCase()), {
      message: 'must be one of true/false, 1/0, yes/no, on/off',
    })
    .transform((text) => TRUE_WORDS.has(text.toLowerCase()))
    .default(defaultValue);
}

function urlProblem(text: string, protocols: readonly string[] | undefined): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return 'must be an absolute URL';
  }
  if (protocols !== undefined && !protocols.includes(url.protocol)) {
    return `must use one of the protocols ${protocols.join(', ')}`;
  }
  return null;
}

// An absolute URL, optionally restricted to protocols given with their colon ('amqp:').
export function envUrl(defaultValue: string, options: { protocols?: readonly string[] } = {}) {
  invariant(urlProblem(defaultValue, options.protocols) === null, 'envUrl: invalid default');
  return z
    .string()
    .superRefine((text, ctx) => {
      const problem = urlProblem(text, options.protocols);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: problem });
    })
    .default(defaultValue);
}

export function envBigInt(defaultValue: bigint, bounds: { min?: bigint; max?: bigint } = {}) {
  const { min, max } = bounds;
  invariant((min === undefined || defaultValue >= min) && (max === undefined || defaultValue <= max), 'envBigInt: default out of bounds');
  return z
    .string()
    .max(40, 'is too long for an integer')
    .regex(INTEGER_PATTERN, 'must be an integer')
    .transform((text) => BigInt(text))
    .refine((value) => (min === undefined || value >= min) && (max === undefined || value <= max), {
      message: `must be between ${min ?? '-∞'} and ${max ?? '∞'}`,
    })
    .default(defaultValue);
}

export function envEnum<const T extends readonly [string, ...string[]]>(values: T, defaultValue: T[number]) {
  return z.enum(values).default(defaultValue as never);
}
