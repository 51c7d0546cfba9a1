// Keeping secrets and card numbers (PANs) out of logs. Logs leave the PCI boundary, so a full
// PAN must never reach them even when a developer logs a whole request body by mistake.
import { stdSerializers } from 'pino';

export const REDACTED = '[Redacted]';

// Runs of digits separated by at most one space or dash each ("4242 4242 4242 4242",
// "4242-4242-4242-4242", "4242424242424242").
const DIGIT_RUN = /\d+(?:[ -]\d+)*/g;
const PAN_DIGITS_MIN = 13;
const PAN_DIGITS_MAX = 19;
// Text longer than this is not scanned past the bound (it is truncated instead): the scan is
// linear, but a multi-megabyte log field is a bug of its own.
export const MASKED_TEXT_LENGTH_MAX = 64 * 1024;

function passesLuhn(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let index = digits.length - 1; index >= 0; index -= 1) {
    let digit = digits.charCodeAt(index) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

function isPan(digits: string): boolean {
  return digits.length >= PAN_DIGITS_MIN && digits.length <= PAN_DIGITS_MAX && passesLuhn(digits);
}

// Replaces every digit but the last four with '*', keeping separators: "**** **** **** 4242".
function maskDigits(text: string): string {
  const digitCount = text.replace(/\D/g, '').length;
  let seen = 0;
  let masked = '';
  for (const char of text) {
    if (char >= '0' && char <= '9') {
      seen += 1;
      masked += seen <= digitCount - 4 ? '*' : char;
    } else {
      masked += char;
    }
  }
  return masked;
}

// A run of separated groups may hold a PAN next to other numbers ("4242 4242 4242 4242 2030"):
// try windows of consecutive groups, longest first from each start, and mask those that are PANs.
function maskGroupedRun(run: string): string {
  const groups = run.split(/([ -])/); // digits at even indexes, separators at odd ones
  const digitGroups: string[] = groups.filter((_, index) => index % 2 === 0);
  const masked = [...digitGroups];
  let start = 0;
  while (start < digitGroups.length) {
    let matchedEnd = -1;
    let digits = '';
    for (let end = start; end < digitGroups.length && digits.length <= PAN_DIGITS_MAX; end += 1) {
      digits += digitGroups[end] ?? '';
      if (isPan(digits)) matchedEnd = end;
    }
    if (matchedEnd < 0) {
      start += 1;
      continue;
    }
    // Mask the window as one unit so exactly its last four digits stay visible.
    const window = digitGroups.slice(start, matchedEnd + 1).join(' ');
    const maskedWindow = maskDigits(window).split(' ');
    for (let offset = 0; offset < maskedWindow.length; offset += 1) {
      masked[start + offset] = maskedWindow[offset] ?? '';
    }
    start = matchedEnd + 1;
  }
  return groups.map((part, index) => (index % 2 === 0 ? (masked[index / 2] ?? part) : part)).join('');
}

// Any 13-19 digit run (spaces or dashes allowed between digits) that passes Luhn keeps its
// last four digits; the rest become '*'. Numbers that fail Luhn are left alone.
export function maskCardNumbers(text: string): string {
  const bounded = text.length > MASKED_TEXT_LENGTH_MAX ? `${text.slice(0, MASKED_TEXT_LENGTH_MAX)}…[truncated]` : text;
  return bounded.replace(DIGIT_RUN, (run) => {
    const digits = run.replace(/[ -]/g, '');
    if (digits.length < PAN_DIGITS_MIN) return run;
    if (isPan(digits)) return maskDigits(run);
    return run === digits ? run : maskGroupedRun(run);
  });
}

// Keys whose values are secrets wherever they appear. Compared after lower-casing and removing
// '-' and '_', so `x-api-key`, `api_key` and `apiKey` are one rule.
const SECRET_KEYS = new Set([
  'authorization',
  'proxyauthorization',
  'cookie',
  'setcookie',
  'apikey',
  'xapikey',
  'secret',
  'password',
  'passwd',
  'token',
  'signature',
  'cardnumber',
  'pan',
  'cvc',
  'cvv',
]);
const SECRET_KEY_SUFFIXES = ['secret', 'password', 'token', 'apikey', 'signature', 'cardnumber'];

export function isSecretKey(key: string): boolean {
  const normalized = key.toLowerCase().replace(/[-_]/g, '');
  return SECRET_KEYS.has(normalized) || SECRET_KEY_SUFFIXES.some((suffix) => normalized.endsWith(suffix));
}

// Paths for pino's own `redact` (first line of defence for the usual places; sanitizeLogValue
// below catches any depth).
export const REDACT_PATHS: readonly string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'headers.cookie',
  'headers["x-api-key"]',
  'authorization',
  'apiKey',
  'api_key',
  'secret',
  'password',
  'token',
  'signature',
  'cardNumber',
  'card_number',
  '*.authorization',
  '*.cookie',
  '*.apiKey',
  '*.api_key',
  '*.secret',
  '*.password',
  '*.token',
  '*.signature',
  '*.cardNumber',
  '*.card_number',
];

export const SANITIZE_DEPTH_MAX = 8;
export const SANITIZE_KEYS_MAX = 200;
export const SANITIZE_ITEMS_MAX = 200;

// Copy of `value` with secret keys censored and PANs masked in every string, bounded in depth
// and breadth. Never mutates the caller's objects.
export function sanitizeLogValue(value: unknown, depth = 0, seen: WeakSet<object> = new WeakSet()): unknown {
  if (typeof value === 'string') return maskCardNumbers(value);
  if (value === null || typeof value !== 'object') return value;
  if (depth >= SANITIZE_DEPTH_MAX) return '[Truncated]';
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  try {
    if (value instanceof Error) {
      return sanitizeLogValue(stdSerializers.err(value), depth, seen);
    }
    if (value instanceof Date || Buffer.isBuffer(value)) return value;
    if (Array.isArray(value)) {
      const items = value.slice(0, SANITIZE_ITEMS_MAX).map((item) => sanitizeLogValue(item, depth + 1, seen));
      if (value.length > SANITIZE_ITEMS_MAX) items.push(`[${value.length - SANITIZE_ITEMS_MAX} more items]`);
      return items;
    }
    if (value instanceof Map) {
      return sanitizeLogValue(Object.fromEntries([...value.entries()].slice(0, SANITIZE_KEYS_MAX)), depth, seen);
    }
    const copy: Record<string, unknown> = {};
    let keyCount = 0;
    for (const key of Object.keys(value)) {
      keyCount += 1;
      if (keyCount > SANITIZE_KEYS_MAX) {
        copy['[truncated]'] = `${Object.keys(value).length - SANITIZE_KEYS_MAX} more keys`;
        break;
      }
      const field = (value as Record<string, unknown>)[key];
      copy[key] = isSecretKey(key) && field !== undefined && field !== null ? REDACTED : sanitizeLogValue(field, depth + 1, seen);
    }
    return copy;
  } finally {
    seen.delete(value);
  }
}
