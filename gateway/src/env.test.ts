// The gateway's settings that reach libraries through process.env: Apollo's anonymous
// telemetry is off unless the operator opts in.
import { ApolloGateway } from '@apollo/gateway';
import { readFileSync } from 'node:fs';
import { EnvError } from '@clearhouse/shared';
import { applyLibraryEnv, parseGatewayEnv } from './env.js';
import { SUPERGRAPH_FILE } from './server.js';

test('Apollo telemetry is off by default and on only when asked for', () => {
  expect(parseGatewayEnv({}).APOLLO_GATEWAY_TELEMETRY).toBe(false);
  expect(parseGatewayEnv({ APOLLO_GATEWAY_TELEMETRY: 'true' }).APOLLO_GATEWAY_TELEMETRY).toBe(true);
  expect(() => parseGatewayEnv({ APOLLO_GATEWAY_TELEMETRY: 'maybe' })).toThrow('APOLLO_GATEWAY_TELEMETRY');

  const target: Record<string, string | undefined> = {};
  applyLibraryEnv(parseGatewayEnv({}), target);
  expect(target.APOLLO_TELEMETRY_DISABLED).toBe('true');
  applyLibraryEnv(parseGatewayEnv({ APOLLO_GATEWAY_TELEMETRY: 'on' }), target);
  expect(target.APOLLO_TELEMETRY_DISABLED).toBe('false');
});

test('with the default, the gateway library sets up no telemetry exporter', async () => {
  const saved = process.env.APOLLO_TELEMETRY_DISABLED;
  try {
    delete process.env.APOLLO_TELEMETRY_DISABLED;
    applyLibraryEnv(parseGatewayEnv({}));
    const gateway = new ApolloGateway({ supergraphSdl: readFileSync(SUPERGRAPH_FILE, 'utf8') });
    // The library's constructor pushes its telemetry meter provider's shutdown here when telemetry
    // is on, and nothing else (a reporting gateway is not built: stopping it would send a report).
    expect((gateway as unknown as { toDispose: unknown[] }).toDispose).toEqual([]);
    await gateway.stop();
  } finally {
    if (saved === undefined) delete process.env.APOLLO_TELEMETRY_DISABLED;
    else process.env.APOLLO_TELEMETRY_DISABLED = saved;
  }
});

test('TRUSTED_PROXIES: empty trusts nobody; IP addresses and CIDR ranges are kept; every bad entry is named', () => {
  expect(parseGatewayEnv({}).TRUSTED_PROXIES).toEqual([]);
  expect(parseGatewayEnv({ TRUSTED_PROXIES: ' 10.0.0.5, 10.0.0.0/8,fd00::/8 ,::1,' }).TRUSTED_PROXIES).toEqual(['10.0.0.5', '10.0.0.0/8', 'fd00::/8', '::1']);

  let issues: string[] = [];
  try {
    parseGatewayEnv({ TRUSTED_PROXIES: '10.0.0.5, proxy.internal, 10, 192.0.2.1/33, 0.0.0.0/0, 10.0.0.0/8x, 2001:db8::/129' });
  } catch (error) {
    expect(error).toBeInstanceOf(EnvError);
    issues = (error as EnvError).issues;
  }
  expect(issues).toEqual([
    "TRUSTED_PROXIES: 'proxy.internal' is not an IP address or CIDR range (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)",
    "TRUSTED_PROXIES: '10' is not an IP address or CIDR range (e.g. 10.0.0.5, 10.0.0.0/8, fd00::/8)",
    "TRUSTED_PROXIES: '192.0.2.1/33' has an invalid prefix length (an integer from 1 to 32)",
    "TRUSTED_PROXIES: '0.0.0.0/0' would trust every address, so any client could choose its own",
    "TRUSTED_PROXIES: '10.0.0.0/8x' has an invalid prefix length (an integer from 1 to 32)",
    "TRUSTED_PROXIES: '2001:db8::/129' has an invalid prefix length (an integer from 1 to 128)",
  ]);
  expect(() => parseGatewayEnv({ TRUSTED_PROXIES: Array.from({ length: 101 }, (_, i) => `10.0.${i}.1`).join(',') })).toThrow('TRUSTED_PROXIES: names 101 entries; at most 100');
});
