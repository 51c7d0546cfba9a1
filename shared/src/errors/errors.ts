// Expected failures are typed: a DomainError carries a UserErrorCode and becomes an entry in a
// mutation payload's `userErrors`. Anything else is a programmer error: it propagates, and the
// edge logs it with the correlation id. toPayloadErrors is the one place that maps between them.
import type { z } from 'zod';
import type { Logger } from '../logging/index.js';

export const USER_ERROR_CODES = [
  'INVALID_INPUT',
  'NOT_FOUND',
  'FORBIDDEN',
  'INVALID_STATE',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENCY_KEY_IN_USE',
  'CURRENCY_NOT_SUPPORTED',
  'RISK_REJECTED',
  'PSP_UNAVAILABLE',
  'INSUFFICIENT_FUNDS',
  'AMOUNT_EXCEEDS_REFUNDABLE',
  'PAYOUT_BELOW_MINIMUM',
] as const;

export type UserErrorCode = (typeof USER_ERROR_CODES)[number];

const USER_ERROR_CODE_SET: ReadonlySet<string> = new Set(USER_ERROR_CODES);

export function isUserErrorCode(value: unknown): value is UserErrorCode {
  return typeof value === 'string' && USER_ERROR_CODE_SET.has(value);
}

// The GraphQL `UserError` type: field is the path to the input at fault, as strings.
export interface UserErrorPayload {
  code: UserErrorCode;
  field: string[] | null;
  message: string;
}

function fieldPath(field: readonly PropertyKey[] | undefined): string[] | null {
  if (field === undefined) return null;
  return field.map((segment) => (typeof segment === 'symbol' ? (segment.description ?? '') : String(segment)));
}

export function userError(code: UserErrorCode, message: string, field?: readonly (string | number)[]): UserErrorPayload {
  if (!isUserErrorCode(code)) throw new TypeError(`userError: unknown code ${String(code)}`);
  return { code, field: fieldPath(field), message };
}

// Codes whose condition clears up by itself, so the caller may retry the same request.
const RETRYABLE_BY_DEFAULT: ReadonlySet<UserErrorCode> = new Set(['PSP_UNAVAILABLE', 'IDEMPOTENCY_KEY_IN_USE']);

export interface DomainErrorOptions {
  field?: readonly (string | number)[];
  // Defaults to true for PSP_UNAVAILABLE and IDEMPOTENCY_KEY_IN_USE, false otherwise.
  retryable?: boolean;
  cause?: unknown;
}

export class DomainError extends Error {
  override readonly name: string = 'DomainError';
  readonly code: UserErrorCode;
  readonly field: string[] | null;
  readonly retryable: boolean;

  constructor(code: UserErrorCode, message: string, options: DomainErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    if (!isUserErrorCode(code)) throw new TypeError(`DomainError: unknown code ${String(code)}`);
    this.code = code;
    this.field = fieldPath(options.field);
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
  }

  toUserError(): UserErrorPayload {
    return { code: this.code, field: this.field === null ? null : [...this.field], message: this.message };
  }
}

export function isDomainError(e: unknown): e is DomainError {
  return e instanceof DomainError;
}

export function zodIssuesToUserErrors(
  issues: readonly z.core.$ZodIssue[],
  pathPrefix: readonly string[] = [],
): UserErrorPayload[] {
  return issues.map((issue) => ({
    code: 'INVALID_INPUT' as const,
    field: [...pathPrefix, ...(fieldPath(issue.path) ?? [])],
    message: issue.message,
  }));
}

// Input validation that found several problems at once: one DomainError (code INVALID_INPUT)
// carrying every userError, so the client can fix all fields in one round.
export class InputValidationError extends DomainError {
  override readonly name: string = 'InputValidationError';
  readonly userErrors: UserErrorPayload[];

  constructor(userErrors: readonly UserErrorPayload[]) {
    const first = userErrors[0];
    if (first === undefined) throw new TypeError('InputValidationError: at least one userError is required');
    super('INVALID_INPUT', first.message, { field: first.field ?? undefined });
    this.userErrors = userErrors.map((entry) => ({ ...entry, field: entry.field === null ? null : [...entry.field] }));
  }

  static fromZodIssues(issues: readonly z.core.$ZodIssue[], pathPrefix: readonly string[] = []): InputValidationError {
    return new InputValidationError(zodIssuesToUserErrors(issues, pathPrefix));
  }

  override toUserError(): UserErrorPayload {
    const first = this.userErrors[0];
    if (first === undefined) throw new TypeError('InputValidationError: no userErrors');
    return { ...first };
  }
}

// The GraphQL edge: an expected failure becomes the payload's userErrors; anything else is
// rethrown unchanged so the server's error handler logs it (with the correlation id) and the
// client sees a generic internal error.
export function toPayloadErrors(error: unknown, logger?: Logger): UserErrorPayload[] {
  if (!isDomainError(error)) throw error;
  const userErrors = error instanceof InputValidationError ? error.userErrors.map((entry) => ({ ...entry })) : [error.toUserError()];
  logger?.info({ code: error.code, field: error.field, retryable: error.retryable }, `user error: ${error.message}`);
  return userErrors;
}
