// The API request being handled, so that events created on its behalf carry Stripe's
// `request: {id, idempotency_key}` without threading it through every function.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestInfo {
  requestId: string;
  idempotencyKey: string | null;
}

export const requestContext = new AsyncLocalStorage<RequestInfo>();
