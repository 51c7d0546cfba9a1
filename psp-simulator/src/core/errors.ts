// Stripe's error object: {error: {type, code, message, param, decline_code, ...}} with the
// HTTP status Stripe uses for it.

export type StripeErrorType = 'api_error' | 'card_error' | 'idempotency_error' | 'invalid_request_error' | 'authentication_error';

export interface StripeErrorFields {
  type: StripeErrorType;
  message: string;
  code?: string;
  param?: string;
  decline_code?: string;
  [extra: string]: unknown;
}

export class StripeError extends Error {
  constructor(
    readonly status: number,
    readonly fields: StripeErrorFields,
  ) {
    super(fields.message);
  }

  body(): { error: StripeErrorFields } {
    return { error: this.fields };
  }
}

export function invalidRequest(message: string, param?: string, code?: string): StripeError {
  return new StripeError(400, { type: 'invalid_request_error', message, ...(param ? { param } : {}), ...(code ? { code } : {}) });
}

export function missingParam(param: string): StripeError {
  return invalidRequest(`Missing required param: ${param}.`, param, 'parameter_missing');
}

export function noSuchObject(kind: string, id: string, param = 'id'): StripeError {
  return new StripeError(404, { type: 'invalid_request_error', code: 'resource_missing', param, message: `No such ${kind}: '${id}'` });
}

export function unexpectedState(message: string, code = 'payment_intent_unexpected_state'): StripeError {
  return invalidRequest(message, undefined, code);
}

export function apiError(message = 'An unknown error occurred (injected fault).'): StripeError {
  return new StripeError(500, { type: 'api_error', message });
}
