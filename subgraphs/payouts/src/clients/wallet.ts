// The wallet's signed internal routes, as the payouts subgraph uses them. The wallet is the
// lockable view of a seller's balance, so the reservation is synchronous and race-free there.
//
//   POST /internal/reservations
//     {"payoutId","sellerId","currency","amountMinor": "<digits>" | null, "minAmountMinor": "<digits>"}
//     200 {"payoutId","amountMinor":"<digits>","replayed":bool}  held (null = all available, capped
//         at maxAmountMinor, only when available >= minAmountMinor); the same payoutId again with
//         the same terms answers the existing hold (replayed: true) and moves nothing
//     409 {"code":"INSUFFICIENT_FUNDS","availableMinor":"<signed digits>"}
//     409 {"code":"RESERVATION_RELEASED"}  this payoutId's hold was given back (or paid), or the
//         payoutId was released before it was ever reserved; it is never replayed, nothing held
//     409 {"code":"RESERVATION_MISMATCH","payoutId"}  this payoutId is reserved, held or settled,
//         with other terms (stored already, or reserved meanwhile by the wallet's payout.requested
//         consumer); nothing reserved (WalletReservationMismatchError)
//   POST /internal/reservations/release {"payoutId"}
//     200 {"released": bool}  true: a held reservation was given back; false: nothing was held. A
//         payoutId the wallet never saw reserved is then marked released, so a reservation of it
//         arriving later (a delayed retry) answers RESERVATION_RELEASED
//   GET /internal/balances?minAvailableMinor=<digits>&limit=<1..1000>&after=<cursor>
//     200 {"balances":[{"sellerId","currency","availableMinor":"<digits>"}],"nextCursor": string|null}
//   GET /internal/reservations/held?olderThanMs=<ms>&limit=<1..1000>&after=<cursor>
//     200 {"reservations":[{"payoutId","sellerId","currency","amountMinor":"<digits>","createdAt"}],
//          "nextCursor": string|null}  reservations still held olderThanMs after they were taken
// Every request carries the signed system caller `payouts` (x-clearhouse-caller/-signature).
import { signCaller, systemCaller } from '@clearhouse/shared';

export type ReservationResult =
  | { readonly ok: true; readonly amountMinor: bigint; readonly replayed: boolean }
  | { readonly ok: false; readonly code: 'INSUFFICIENT_FUNDS'; readonly availableMinor: bigint }
  | { readonly ok: false; readonly code: 'RESERVATION_RELEASED' };

export interface ReserveRequest {
  payoutId: string;
  sellerId: string;
  currency: string;
  /** null: the whole available balance. */
  amountMinor: bigint | null;
  minAmountMinor: bigint;
}

export interface AvailableBalance {
  sellerId: string;
  currency: string;
  availableMinor: bigint;
}

export interface HeldReservation {
  payoutId: string;
  sellerId: string;
  currency: string;
  amountMinor: bigint;
}

export interface WalletReservations {
  reserve(request: ReserveRequest): Promise<ReservationResult>;
  release(payoutId: string): Promise<boolean>;
  /** One page of balances with available >= minAvailableMinor, ordered by seller and currency. */
  listAvailableBalances(minAvailableMinor: bigint, limit: number, after: string | null): Promise<{ balances: AvailableBalance[]; nextCursor: string | null }>;
  /** One page of reservations still held `olderThanMs` after they were taken, oldest first. */
  listHeldReservations(olderThanMs: number, limit: number, after: string | null): Promise<{ reservations: HeldReservation[]; nextCursor: string | null }>;
}

export class WalletUnavailableError extends Error {
  override readonly name = 'WalletUnavailableError';
}

/**
 * The wallet found the payout id already reserved with other terms and reserved nothing: reserved
 * meanwhile by its payout.requested consumer, or stored already (held or settled) by a request
 * with other terms. Not the wallet being unavailable, and not a refusal this request's input
 * caused: the run fails without a payout; the key's next run finds what happened to the payout id
 * (its payout, or the stored hold as a replay if the terms are the same).
 */
export class WalletReservationMismatchError extends Error {
  override readonly name = 'WalletReservationMismatchError';
  readonly code = 'RESERVATION_MISMATCH';

  constructor(readonly payoutId: string) {
    super(`wallet found payout ${payoutId} already reserved with other terms; nothing reserved`);
  }
}

export interface WalletClientOptions {
  baseUrl: string;
  signingSecret: string;
  timeoutMs: number;
}

const SIGNED_CALLER_TTL_MS = 30_000;
const REFUSAL_CHARS_MAX = 300;
const DIGITS = /^-?(0|[1-9][0-9]{0,29})$/;

/** The wallet's own reason for refusing (its `{"error"}`), cut short enough for a log line. */
function refusal(status: number, json: Record<string, unknown>): string {
  const reason = typeof json.error === 'string' ? json.error : JSON.stringify(json);
  return `${status}: ${reason.slice(0, REFUSAL_CHARS_MAX)}`;
}

function toBigInt(value: unknown, what: string): bigint {
  if (typeof value !== 'string' || !DIGITS.test(value)) throw new WalletUnavailableError(`wallet answered an invalid ${what}`);
  return BigInt(value);
}

export function createWalletClient(options: WalletClientOptions): WalletReservations {
  const caller = systemCaller('payouts');

  async function call(method: 'GET' | 'POST', path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    let response: Response;
    const url = new URL(path, options.baseUrl).toString();
    const requestBody = body === undefined ? undefined : JSON.stringify(body);
    try {
      response = await fetch(url, {
        method,
        headers: { 'content-type': 'application/json', ...signCaller(caller, options.signingSecret, { method, url, body: requestBody ?? '' }, Date.now(), SIGNED_CALLER_TTL_MS) },
        ...(requestBody === undefined ? {} : { body: requestBody }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
    } catch (error) {
      throw new WalletUnavailableError(`wallet ${method} ${path} failed: ${(error as Error).message}`, { cause: error });
    }
    const text = await response.text();
    let json: Record<string, unknown> = {};
    try {
      json = text.length > 0 ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      throw new WalletUnavailableError(`wallet ${method} ${path} answered ${response.status} with a body that is not JSON`);
    }
    return { status: response.status, json };
  }

  return {
    async reserve(request) {
      const { status, json } = await call('POST', '/internal/reservations', {
        payoutId: request.payoutId,
        sellerId: request.sellerId,
        currency: request.currency,
        amountMinor: request.amountMinor === null ? null : request.amountMinor.toString(),
        minAmountMinor: request.minAmountMinor.toString(),
      });
      if (status === 200) return { ok: true, amountMinor: toBigInt(json.amountMinor, 'amountMinor'), replayed: json.replayed === true };
      if (status === 409 && json.code === 'INSUFFICIENT_FUNDS') return { ok: false, code: 'INSUFFICIENT_FUNDS', availableMinor: toBigInt(json.availableMinor, 'availableMinor') };
      if (status === 409 && json.code === 'RESERVATION_RELEASED') return { ok: false, code: 'RESERVATION_RELEASED' };
      if (status === 409 && json.code === 'RESERVATION_MISMATCH') throw new WalletReservationMismatchError(request.payoutId);
      throw new WalletUnavailableError(`wallet refused the reservation of ${request.payoutId}: ${refusal(status, json)}`);
    },

    async release(payoutId) {
      const { status, json } = await call('POST', '/internal/reservations/release', { payoutId });
      if (status !== 200) throw new WalletUnavailableError(`wallet refused to release ${payoutId}: ${refusal(status, json)}`);
      return json.released === true;
    },

    async listAvailableBalances(minAvailableMinor, limit, after) {
      const query = new URLSearchParams({ minAvailableMinor: minAvailableMinor.toString(), limit: String(limit) });
      if (after !== null) query.set('after', after);
      const { status, json } = await call('GET', `/internal/balances?${query.toString()}`);
      if (status !== 200 || !Array.isArray(json.balances)) throw new WalletUnavailableError(`wallet balances answered ${refusal(status, json)}`);
      const balances = (json.balances as Record<string, unknown>[]).map((entry) => ({
        sellerId: String(entry.sellerId),
        currency: String(entry.currency),
        availableMinor: toBigInt(entry.availableMinor, 'availableMinor'),
      }));
      return { balances, nextCursor: typeof json.nextCursor === 'string' ? json.nextCursor : null };
    },

    async listHeldReservations(olderThanMs, limit, after) {
      const query = new URLSearchParams({ olderThanMs: String(olderThanMs), limit: String(limit) });
      if (after !== null) query.set('after', after);
      const { status, json } = await call('GET', `/internal/reservations/held?${query.toString()}`);
      if (status !== 200 || !Array.isArray(json.reservations)) throw new WalletUnavailableError(`wallet held reservations answered ${refusal(status, json)}`);
      const reservations = (json.reservations as Record<string, unknown>[]).map((entry) => {
        if (typeof entry.payoutId !== 'string' || typeof entry.sellerId !== 'string' || typeof entry.currency !== 'string') {
          throw new WalletUnavailableError('wallet answered a held reservation without its ids');
        }
        return { payoutId: entry.payoutId, sellerId: entry.sellerId, currency: entry.currency, amountMinor: toBigInt(entry.amountMinor, 'amountMinor') };
      });
      return { reservations, nextCursor: typeof json.nextCursor === 'string' ? json.nextCursor : null };
    },
  };
}
