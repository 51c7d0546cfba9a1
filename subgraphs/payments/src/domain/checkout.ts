// createCheckout's input rules and fee split, pure. Every problem is reported at once with the
// path of the field at fault, and nothing is written when any is found.
import {
  InputValidationError,
  IDEMPOTENCY_KEY_LENGTH_MAX,
  computeFee,
  isSupportedCurrency,
  isWellFormedId,
  maxAmountMinor,
  pspAmountStepMinor,
  userError,
  type FeeSchedule,
  type UserErrorPayload,
} from '@clearhouse/shared';

export const ORDERS_PER_CHECKOUT_MIN = 1;
export const ORDERS_PER_CHECKOUT_MAX = 50;
export const REFERENCE_LENGTH_MAX = 200;
export const RETURN_URL_LENGTH_MAX = 2048;
export const METADATA_JSON_BYTES_MAX = 4096;

export interface CheckoutOrderInput {
  sellerId: string;
  amountMinor: bigint;
  reference?: string | null;
}

export interface CreateCheckoutInput {
  idempotencyKey: string;
  buyerId: string;
  currency: string;
  orders: readonly CheckoutOrderInput[];
  returnUrl?: string | null;
  metadata?: unknown;
}

export interface ValidCheckoutOrder {
  sellerId: string;
  amountMinor: bigint;
  reference: string | null;
}

export interface ValidCheckout {
  idempotencyKey: string;
  buyerId: string;
  currency: string;
  orders: ValidCheckoutOrder[];
  totalMinor: bigint;
  returnUrl: string | null;
  metadata: Record<string, unknown> | null;
}

function isHttpUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return url.protocol === 'http:' || url.protocol === 'https:';
  } catch {
    return false;
  }
}

function jsonBytes(value: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/** The checked, normalized input; throws InputValidationError listing every problem. */
export function validateCheckoutInput(input: CreateCheckoutInput): ValidCheckout {
  const errors: UserErrorPayload[] = [];
  const at = (...path: (string | number)[]) => ['input', ...path.map(String)];

  if (input.idempotencyKey.length < 1 || input.idempotencyKey.length > IDEMPOTENCY_KEY_LENGTH_MAX) {
    errors.push(userError('INVALID_INPUT', `idempotencyKey must be 1-${IDEMPOTENCY_KEY_LENGTH_MAX} characters`, at('idempotencyKey')));
  }
  if (!isWellFormedId(input.buyerId)) {
    errors.push(userError('INVALID_INPUT', 'buyerId must be 1-64 characters of letters, digits, _ or -', at('buyerId')));
  }
  const currencyOk = /^[A-Z]{3}$/.test(input.currency) && isSupportedCurrency(input.currency);
  if (!currencyOk) {
    errors.push(userError('CURRENCY_NOT_SUPPORTED', `currency ${JSON.stringify(input.currency.slice(0, 10))} is not a supported ISO 4217 code (upper case)`, at('currency')));
  }
  const limitMinor = currencyOk ? maxAmountMinor(input.currency) : null;

  if (input.orders.length < ORDERS_PER_CHECKOUT_MIN || input.orders.length > ORDERS_PER_CHECKOUT_MAX) {
    errors.push(userError('INVALID_INPUT', `a checkout has ${ORDERS_PER_CHECKOUT_MIN}-${ORDERS_PER_CHECKOUT_MAX} orders`, at('orders')));
  }
  const seenReferences = new Map<string, number>();
  let totalMinor = 0n;
  input.orders.slice(0, ORDERS_PER_CHECKOUT_MAX).forEach((order, index) => {
    if (!isWellFormedId(order.sellerId)) {
      errors.push(userError('INVALID_INPUT', 'sellerId must be 1-64 characters of letters, digits, _ or -', at('orders', index, 'sellerId')));
    }
    if (typeof order.amountMinor !== 'bigint' || order.amountMinor <= 0n) {
      errors.push(userError('INVALID_INPUT', 'amountMinor must be a positive integer', at('orders', index, 'amountMinor')));
    } else if (limitMinor !== null && order.amountMinor > limitMinor) {
      errors.push(userError('INVALID_INPUT', `amountMinor must be at most ${limitMinor} for ${input.currency}`, at('orders', index, 'amountMinor')));
    } else if (currencyOk && order.amountMinor % pspAmountStepMinor(input.currency) !== 0n) {
      // Each order a multiple too, so that refunding a whole order (or what is left of it) is an
      // amount the PSP takes.
      const step = pspAmountStepMinor(input.currency);
      errors.push(userError('INVALID_INPUT', `amountMinor must be a multiple of ${step} for ${input.currency}: the PSP takes its amounts in tens of the minor unit`, at('orders', index, 'amountMinor')));
    } else {
      totalMinor += order.amountMinor;
    }
    const reference = order.reference ?? null;
    if (reference !== null) {
      if (reference.length < 1 || reference.length > REFERENCE_LENGTH_MAX) {
        errors.push(userError('INVALID_INPUT', `reference must be 1-${REFERENCE_LENGTH_MAX} characters`, at('orders', index, 'reference')));
      }
      const referenceKey = `${order.sellerId}\u0000${reference}`;
      const firstIndex = seenReferences.get(referenceKey);
      if (firstIndex !== undefined) {
        errors.push(userError('INVALID_INPUT', `seller ${order.sellerId} has reference ${JSON.stringify(reference)} twice (also orders[${firstIndex}])`, at('orders', index, 'reference')));
      } else {
        seenReferences.set(referenceKey, index);
      }
    }
  });
  if (limitMinor !== null && totalMinor > limitMinor) {
    errors.push(userError('INVALID_INPUT', `the orders add up to ${totalMinor}, above the limit of ${limitMinor} for one payment in ${input.currency}`, at('orders')));
  }

  const returnUrl = input.returnUrl ?? null;
  if (returnUrl !== null && (returnUrl.length > RETURN_URL_LENGTH_MAX || !isHttpUrl(returnUrl))) {
    errors.push(userError('INVALID_INPUT', `returnUrl must be an http(s) URL of at most ${RETURN_URL_LENGTH_MAX} characters`, at('returnUrl')));
  }
  const metadata = input.metadata ?? null;
  if (metadata !== null && (typeof metadata !== 'object' || Array.isArray(metadata))) {
    errors.push(userError('INVALID_INPUT', 'metadata must be a JSON object', at('metadata')));
  } else if (metadata !== null && jsonBytes(metadata) > METADATA_JSON_BYTES_MAX) {
    errors.push(userError('INVALID_INPUT', `metadata must be at most ${METADATA_JSON_BYTES_MAX} bytes of JSON`, at('metadata')));
  }

  if (errors.length > 0) throw new InputValidationError(errors);
  return {
    idempotencyKey: input.idempotencyKey,
    buyerId: input.buyerId,
    currency: input.currency,
    orders: input.orders.map((order) => ({ sellerId: order.sellerId, amountMinor: order.amountMinor, reference: order.reference ?? null })),
    totalMinor,
    returnUrl,
    metadata: metadata as Record<string, unknown> | null,
  };
}

export interface OrderFeeSplit {
  amountMinor: bigint;
  feeMinor: bigint;
  netAmountMinor: bigint;
}

/**
 * The platform fee of each order on its own: computeFee rounds the percentage half-up to the
 * minor unit per order, adds the fixed part and caps at the amount; net = amount - fee, so
 * fee + net is exactly the order amount and the orders add up to the payment.
 */
export function splitOrderFees(amountsMinor: readonly bigint[], schedule: FeeSchedule): OrderFeeSplit[] {
  return amountsMinor.map((amountMinor) => {
    const feeMinor = computeFee(amountMinor, schedule);
    const netAmountMinor = amountMinor - feeMinor;
    if (feeMinor < 0n || netAmountMinor < 0n || feeMinor + netAmountMinor !== amountMinor) throw new Error('splitOrderFees: fee split does not add up');
    return { amountMinor, feeMinor, netAmountMinor };
  });
}
