// Typed access to Stripe's form parameters, parsed by qs (`metadata[k]=v`, `expand[]=x`).
// Unknown parameters are ignored (lenient on purpose: see README, deviations).
import { invalidRequest, missingParam } from '../core/errors.js';
import { assertAmountWithinCap, maxAmountMinor } from '../core/money.js';

export type Params = Record<string, unknown>;

export function optionalString(params: Params, name: string): string | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw invalidRequest(`Invalid string: ${name}`, name, 'parameter_invalid_string');
  return value;
}

export function requiredString(params: Params, name: string): string {
  const value = optionalString(params, name);
  if (value === undefined) throw missingParam(name);
  return value;
}

export function optionalInteger(params: Params, name: string, min = 0, max = maxAmountMinor): number | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') return undefined;
  const text = typeof raw === 'string' ? raw : typeof raw === 'number' ? String(raw) : '';
  if (!/^-?\d{1,15}$/.test(text)) throw invalidRequest(`Invalid integer: ${text}`, name, 'parameter_invalid_integer');
  const value = Number(text);
  if (value < min || value > max) {
    throw invalidRequest(`Invalid ${name}: must be between ${min} and ${max}`, name, 'parameter_invalid_integer');
  }
  return value;
}

export function requiredInteger(params: Params, name: string, min = 0, max = maxAmountMinor): number {
  const value = optionalInteger(params, name, min, max);
  if (value === undefined) throw missingParam(name);
  return value;
}

/** An amount in the smallest currency unit: an integer of at least `min`, within Stripe's cap. */
export function optionalAmount(params: Params, name: string, min = 1): number | undefined {
  const value = optionalInteger(params, name, min, Number.MAX_SAFE_INTEGER);
  if (value !== undefined) assertAmountWithinCap(value, name);
  return value;
}

export function requiredAmount(params: Params, name: string, min = 1): number {
  const value = optionalAmount(params, name, min);
  if (value === undefined) throw missingParam(name);
  return value;
}

export function optionalBoolean(params: Params, name: string): boolean | undefined {
  const raw = params[name];
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'true' || raw === true) return true;
  if (raw === 'false' || raw === false) return false;
  throw invalidRequest(`Invalid boolean: ${String(raw)}`, name, 'parameter_invalid_boolean');
}

export function oneOf<T extends string>(params: Params, name: string, allowed: readonly T[], fallback: T): T {
  const value = optionalString(params, name);
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw invalidRequest(`Invalid ${name}: must be one of ${allowed.join(', ')}`, name);
  }
  return value as T;
}

export function requiredCurrency(params: Params, name = 'currency'): string {
  const value = requiredString(params, name).toLowerCase();
  if (!/^[a-z]{3}$/.test(value)) throw invalidRequest(`Invalid currency: ${value}`, name);
  return value;
}

export function optionalObject(params: Params, name: string): Params | undefined {
  const value = params[name];
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw invalidRequest(`Invalid object: ${name}`, name);
  }
  return value as Params;
}

const metadataKeysMax = 50;

/** Stripe's metadata: string values; an empty string value removes the key on update. */
export function applyMetadata(current: Record<string, string>, params: Params, name = 'metadata'): Record<string, string> {
  const raw = params[name];
  if (raw === undefined) return current;
  if (raw === '') return {};
  const patch = optionalObject(params, name) ?? {};
  const next = { ...current };
  for (const [key, value] of Object.entries(patch)) {
    if (typeof value !== 'string') throw invalidRequest(`Invalid metadata value for ${key}`, `${name}[${key}]`);
    if (value === '') delete next[key];
    else next[key] = value.slice(0, 500);
  }
  if (Object.keys(next).length > metadataKeysMax) throw invalidRequest('Too many metadata keys (max 50)', name);
  return next;
}

export function stringList(params: Params, name: string): string[] {
  const raw = params[name];
  if (raw === undefined) return [];
  const list = Array.isArray(raw) ? raw : typeof raw === 'object' && raw !== null ? Object.values(raw) : [raw];
  return list.filter((item): item is string => typeof item === 'string');
}
