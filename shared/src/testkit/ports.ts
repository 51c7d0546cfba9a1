// Ports for services that tests and the bench start as child processes. A port found by
// listen(0) and then released lies in the kernel's ephemeral range, the range it also hands to
// outgoing connections: in the seconds before the service listens on it, any connection to
// PostgreSQL, RabbitMQ or another service may take it, and the service then dies with EADDRINUSE
// (seen in a bench run). A port below that range is never handed out by the kernel, so only
// another explicit bind can take it.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** IANA's dynamic range, the ephemeral range where /proc does not tell. */
const IANA_EPHEMERAL: readonly [number, number] = [49152, 65535];
/** Below this lie well-known and commonly configured ports (databases, brokers, dev servers). */
const LOWEST = 10_000;
const ATTEMPTS = 200;

/** The range the kernel takes ephemeral ports from (Linux's ip_local_port_range, else IANA's). */
export function ephemeralPortRange(procFile = '/proc/sys/net/ipv4/ip_local_port_range'): [number, number] {
  try {
    const [low, high] = readFileSync(procFile, 'utf8').trim().split(/\s+/).map(Number);
    if (low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high) && low >= 1 && low <= high && high <= 65535) return [low, high];
  } catch {
    // Not Linux: fall through.
  }
  return [IANA_EPHEMERAL[0], IANA_EPHEMERAL[1]];
}

/** Whether a listener can bind `port` on every interface (as the services do) right now. */
export function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host: '0.0.0.0', exclusive: true }, () => server.close(() => resolve(true)));
  });
}

const handedOut = new Set<number>();

/**
 * A port free right now on every interface, below the ephemeral range, and not handed out before
 * by this process (so the services of one platform never get the same port).
 */
export async function freePort(): Promise<number> {
  const [ephemeralLow, ephemeralHigh] = ephemeralPortRange();
  // The widest stretch outside the ephemeral range, above LOWEST.
  const below: [number, number] = [LOWEST, ephemeralLow - 1];
  const above: [number, number] = [ephemeralHigh + 1, 65535];
  const [from, to] = below[1] - below[0] >= above[1] - above[0] ? below : above;
  if (to - from < 1000) throw new Error(`no room for service ports outside the ephemeral range ${ephemeralLow}-${ephemeralHigh}`);
  for (let attempt = 0; attempt < ATTEMPTS; attempt += 1) {
    const port = from + Math.floor(Math.random() * (to - from + 1));
    if (handedOut.has(port)) continue;
    if (await canListen(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port in ${from}-${to} after ${ATTEMPTS} attempts`);
}
