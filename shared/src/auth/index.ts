// API keys and the caller identity the gateway forwards to subgraphs.
//
// Keys are random secrets shown once; only their SHA-256 is stored. The gateway authenticates a
// request, then forwards the caller to subgraphs in two headers: the caller encoded as base64url
// JSON with an expiry, and an HMAC-SHA256 of that encoding under INTERNAL_SIGNING_SECRET.
// Subgraphs accept nothing else, so a subgraph reached directly on its port refuses strangers.
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
}

const SIGNATURE_PATTERN = /^[0-9a-f]{64}$/;

function hmac(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload, 'utf8').digest('hex');
}

export function signCaller(
  caller: Caller,
  secret: string,
  nowMs: number = Date.now(),
  ttlMs: number = CALLER_TTL_MS_DEFAULT,
): Record<string, string> {
  const body: SignedCallerBody = {
    role: caller.role,
    keyId: caller.keyId,
    sellerId: caller.sellerId,
    expiresAtMs: nowMs + ttlMs,
  };
  const encoded = Buffer.from(JSON.stringify(body), 'utf8').toString('base64url');
  return { [CALLER_HEADER]: encoded, [SIGNATURE_HEADER]: hmac(secret, encoded) };
}

type HeaderSource = { get(name: string): string | null | undefined } | Record<string, string | string[] | undefined>;

function readHeader(headers: HeaderSource, name: string): string | undefined {
  if (typeof (headers as { get?: unknown }).get === 'function') {
    return (headers as { get(name: string): string | null | undefined }).get(name) ?? undefined;
  }
  const value = (headers as Record<string, string | string[] | undefined>)[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The verified caller, or null when the headers are missing, forged or expired. */
export function verifyCaller(headers: HeaderSource, secret: string, nowMs: number = Date.now()): Caller | null {
  const encoded = readHeader(headers, CALLER_HEADER);
  const signature = readHeader(headers, SIGNATURE_HEADER);
  if (!encoded || !signature || encoded.length > 2048) return null;
  // Exactly what hmac() produces: Buffer.from(…, 'hex') would silently drop trailing junk.
  if (!SIGNATURE_PATTERN.test(signature)) return null;
  const expected = Buffer.from(hmac(secret, encoded), 'hex');
  const given = Buffer.from(signature, 'hex');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
  let body: SignedCallerBody;
  try {
    body = JSON.parse(Buffer.from(encoded, 'base64url').toString('utf8')) as SignedCallerBody;
  } catch {
    return null;
  }
  if (typeof body.expiresAtMs !== 'number' || body.expiresAtMs < nowMs) return null;
  if (!ROLES.includes(body.role) || typeof body.keyId !== 'string') return null;
  if (body.role === 'seller' && (typeof body.sellerId !== 'string' || !isWellFormedId(body.sellerId))) return null;
  return { role: body.role, keyId: body.keyId, sellerId: body.role === 'seller' ? body.sellerId : null };
}

/** Object-level access: may this caller see data of this seller? */
export function canAccessSeller(caller: Caller, sellerId: string): boolean {
  if (caller.role === 'seller') return caller.sellerId === sellerId;
  return true;
}

export function systemCaller(service: string): Caller {
  return { role: 'system', keyId: service, sellerId: null };
}
