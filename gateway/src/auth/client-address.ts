// The address a request is counted against (the budget of failed authentications). By default the
// connection's peer: X-Forwarded-For is whatever the client wrote. Behind a load balancer or
// reverse proxy every peer is the proxy, so the operator names its addresses (TRUSTED_PROXIES)
// and, when the peer is one of them, the client is the right-most X-Forwarded-For address that
// is not itself a trusted proxy: the one the outermost trusted proxy saw connect. Addresses
// further left were written by the client and are never reached. proxy-addr (Express's
// implementation of exactly this walk) does the parsing and matching.
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import proxyaddr from 'proxy-addr';

/** Entries TRUSTED_PROXIES may name; each one is matched against every hop of every request. */
export const TRUSTED_PROXIES_MAX = 100;

const PREFIX_LENGTH_PATTERN = /^\d{1,3}$/;

/**
 * Why `entry` is not a trusted-proxy entry (an IP address or a CIDR range), or null when it is
 * one. Stricter than proxy-addr: only canonical addresses (Node's isIP; no "10" for 0.0.0.10) and
 * prefix lengths, and never a range holding every address, which would let any client forge its
 * address.
 */
export function trustedProxyProblem(entry: string): string | null {
  const slash = entry.lastIndexOf('/');
  const address = slash === -1 ? entry : entry.slice(0, slash);
  const version = isIP(address);
  if (version === 0) return `'${entry}' is not an IP address or CIDR range (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)`;
  if (slash !== -1) {
    const prefix = entry.slice(slash + 1);
    const bitsMax = version === 4 ? 32 : 128;
    if (!PREFIX_LENGTH_PATTERN.test(prefix) || Number(prefix) > bitsMax) return `'${entry}' has an invalid prefix length (an integer from 1 to ${bitsMax})`;
    if (Number(prefix) === 0) return `'${entry}' would trust every address, so any client could choose its own`;
  }
  try {
    proxyaddr.compile(entry);
  } catch (error) {
    return `'${entry}' is not accepted: ${(error as Error).message}`;
  }
  return null;
}

/** An IPv4 client seen on a dual-stack socket (::ffff:a.b.c.d) is the same client as a.b.c.d. */
function canonical(address: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address);
  return mapped ? mapped[1]! : address;
}

/**
 * The function giving a request's client address, trusting X-Forwarded-For only from
 * `trustedProxies` (entries that passed trustedProxyProblem). For HTTP requests and for the
 * WebSocket upgrade request alike.
 */
export function clientAddressResolver(trustedProxies: readonly string[]): (request: IncomingMessage) => string {
  if (trustedProxies.length > TRUSTED_PROXIES_MAX) throw new Error(`at most ${TRUSTED_PROXIES_MAX} trusted proxies`);
  for (const entry of trustedProxies) {
    const problem = trustedProxyProblem(entry);
    if (problem) throw new Error(`trusted proxy ${problem}`);
  }
  if (trustedProxies.length === 0) return (request) => canonical(request.socket.remoteAddress ?? 'unknown');
  const trust = proxyaddr.compile([...trustedProxies]);
  // proxyaddr answers undefined when the socket has no address any more (it closed).
  return (request) => canonical((proxyaddr(request, trust) as string | undefined) ?? 'unknown');
}
