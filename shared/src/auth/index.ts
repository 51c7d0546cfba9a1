// API keys and the caller identity the gateway forwards to subgraphs.
//
// Keys are random secrets shown once; only their SHA-256 is stored. The gateway authenticates a
// request, then forwards the caller to subgraphs in two headers: the caller encoded as base64url
// JSON with an expiry, and an HMAC-SHA256 under INTERNAL_SIGNING_SECRET of that encoding together
// with the request it travels with (method, path and query, SHA-256 of the body). Subgraphs accept
// nothing else, so a subgraph reached directly on its port refuses strangers, and headers seen on
// one request cannot carry another operation, body or route within their lifetime. Each encoded
// caller also carries a nonce that a process accepts once (ReplayGuard), so the same request sent
// again with the same headers within their lifetime is refused too.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const ROLES = ['platform', 'seller', 'ops', 'system'] as const;
export type Role = (typeof ROLES)[number];

export interface Caller {
  readonly role: Role;
  /** Id of the API key used, or a service name for `system` callers. */
  readonly keyId: string;
  /** Set only for the seller role: the one seller this caller may see. */
  readonly sellerId: string | null;
}

export const CALLER_HEADER = 'x-clearhouse-caller';
export const SIGNATURE_HEADER = 'x-clearhouse-signature';
export const CORRELATION_HEADER = 'x-correlation-id';
export const CALLER_TTL_MS_DEFAULT = 60_000;

const SELLER_ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

export function isWellFormedId(id: string): boolean {
  return SELLER_ID_PATTERN.test(id);
}

export function hashApiKey(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

/** A new secret: role prefix for humans, 32 random bytes for safety. */
export function generateApiKeySecret(role: Exclude<Role, 'system'>): string {
  return `ch_${role}_${randomBytes(32).toString('base64url')}`;
}

export function parseBearer(header: string | undefined | null): string | null {
  if (!header) return null;
  const match = /^Bearer\s+(\S{1,512})$/i.exec(header.trim());
  return match ? (match[1] ?? null) : null;
}

interface SignedCallerBody {
  role: Role;
  keyId: string;
  sellerId: string | null;
  expiresAtMs: number;
  /** Unique per encoded caller: a process-wide random prefix and a counter. */
  nonce: string;
}

const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/;

function hmac(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload, 'utf8').digest('hex');
}

/** The request a caller signature is bound to, exactly as it goes on the wire. */
export interface SignedRequest {
  readonly method: string;
  /** The absolute URL, or the request target (path and query) as a server sees it. */
  readonly url: string;
  /** The body's exact bytes (empty for GET). */
  readonly body: string | Uint8Array;
}

/** The request target (path and query) of an absolute URL or of a target. */
function requestTarget(url: string): string {
  if (url.startsWith('/')) return url;
  const parsed = new URL(url);
  return `${parsed.pathname}${parsed.search}`;
}

function signedMaterial(encodedCaller: string, request: SignedRequest): string {
  const bodySha256 = createHash('sha256').update(request.body).digest('hex');
  return `${encodedCaller}\n${request.method.toUpperCase()}\n${requestTarget(request.url)}\n${bodySha256}`;
}

const NONCE_PATTERN = /^[A-Za-z0-9_-]{16}\.[0-9a-z]{1,16}$/;
// 96 random bits per process, then a counter: unique without a random draw per request.
const NONCE_PREFIX = randomBytes(12).toString('base64url');
let nonceCounter = 0;

function nextNonce(): string {
  nonceCounter += 1;
  return `${NONCE_PREFIX}.${nonceCounter.toString(36)}`;
}

/**
 * Nonces of accepted callers until their expiry: a nonce is accepted once per process. Entries
 * are swept once their expiry has passed, so memory follows the rate of signed requests times
 * their lifetime (60 s by default). Each process has its own: several instances of one subgraph
 * behind a load balancer each accept a captured request once.
 */
export class ReplayGuard {
  private readonly seen = new Map<string, number>();
  private nextSweepAtMs = 0;

  constructor(private readonly sweepIntervalMs: number = 5_000) {}

  /** True the first time this nonce is offered before its expiry; false on every later offer. */
  firstUse(nonce: string, expiresAtMs: number, nowMs: number): boolean {
    if (nowMs >= this.nextSweepAtMs) this.sweep(nowMs);
    if (this.seen.has(nonce)) return false;
    this.seen.set(nonce, expiresAtMs);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }

  private sweep(nowMs: number): void {
    this.nextSweepAtMs = nowMs + this.sweepIntervalMs;
    for (const [nonce, expiresAtMs] of this.seen) {
      if (expiresAtMs < nowMs) this.seen.delete(nonce);
    }
  }
}

/** The guard verifyCaller uses unless given another: one per process. */
export const processReplayGuard = new ReplayGuard();

/** The caller header's value: the caller, its expiry and a nonce. Not valid until signed with its request (callerSignature). */
export function encodeCaller(caller: Caller, nowMs: number = Date.now(), ttlMs: number = CALLER_TTL_MS_DEFAULT): string {
  const body: SignedCallerBody = {
    role: caller.role,
    keyId: caller.keyId,
    sellerId: caller.sellerId,
    expiresAtMs: nowMs + ttlMs,
    nonce: nextNonce(),
  };
  return Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
}

/** The signature header's value for an encoded caller sent with this request. */
export function callerSignature(encodedCaller: string, secret: string, request: SignedRequest): string {
  return hmac(secret, signedMaterial(encodedCaller, request));
}

/** Both caller headers for one request: send them with exactly this method, URL and body, once (sign again for a retry). */
export function signCaller(
  caller: Caller,
  secret: string,
  request: SignedRequest,
  nowMs: number = Date.now(),
  ttlMs: number = CALLER_TTL_MS_DEFAULT,
): Record<string, string> {
  const encoded = encodeCaller(caller, nowMs, ttlMs);
  return { [CALLER_HEADER]: encoded, [SIGNATURE_HEADER]: callerSignature(encoded, secret, request) };
}

type HeaderSource = { get(name: string): string | null | undefined } | Record<string, string | string[] | undefined>;

/** What verifyCaller reads of a received request: node's IncomingMessage has all of it. */
export interface ReceivedRequest {
  readonly method?: string | undefined;
  /** The request target as received (IncomingMessage.url). */
  readonly url?: string | undefined;
  readonly headers: HeaderSource;
}

function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null | undefined }).get(name) ?? undefined;
  }
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/**
 * The verified caller, or null when the headers are missing, forged or expired, were signed for
 * another method, target or body than this request's (`body`: the exact bytes received), or were
 * already accepted once by this guard (a replay).
 */
export function verifyCaller(
  request: ReceivedRequest,
  body: string | Uint8Array,
  secret: string,
  nowMs: number = Date.now(),
  replayGuard: ReplayGuard = processReplayGuard,
): Caller | null {
  const encoded = readHeader(request.headers, CALLER_HEADER);
  const signature = readHeader(request.headers, SIGNATURE_HEADER);
  if (!encoded || !signature || encoded.length > 2048) return null;
  // Exactly what hmac() produces: Buffer.from(…, 'hex') would silently drop trailing junk.
  if (!SIGNATURE_PATTERN.test(signature)) return null;
  let expectedHex: string;
  try {
    expectedHex = callerSignature(encoded, secret, { method: request.method ?? 'GET', url: request.url ?? '/', body });
  } catch {
    return null; // a target that is not a URL
  }
  const expected = Buffer.from(expectedHex, 'hex');
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let decoded: SignedCallerBody;
  try {
    decoded = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as SignedCallerBody;
  } catch {
    return null;
  }
  if (typeof decoded.expiresAtMs !== 'number' || decoded.expiresAtMs < nowMs) return null;
  if (!ROLES.includes(decoded.role) || typeof decoded.keyId !== 'string') return null;
  if (decoded.role === 'seller' && (typeof decoded.sellerId !== 'string' || !isWellFormedId(decoded.sellerId))) return null;
  if (typeof decoded.nonce !== 'string' || !NONCE_PATTERN.test(decoded.nonce)) return null;
  // Last, once everything else holds: only genuine, unexpired callers take a place in the guard.
  if (!replayGuard.firstUse(decoded.nonce, decoded.expiresAtMs, nowMs)) return null;
  return { role: decoded.role, keyId: decoded.keyId, sellerId: decoded.role === 'seller' ? decoded.sellerId : null };
}

/** Object-level access: may this caller see data of this seller? */
export function canAccessSeller(caller: Caller, sellerId: string): boolean {
  if (caller.role === 'seller') return caller.sellerId === sellerId;
  return true;
}

export function systemCaller(service: string): Caller {
  return { role: 'system', keyId: service, sellerId: null };
}
