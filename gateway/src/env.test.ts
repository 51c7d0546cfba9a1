// The gateway's settings that reach libraries through process.env: Apollo's anonymous
// telemetry is off unless the operator opts in.
import { ApolloGateway } from '@apollo/gateway';
import { readFileSync } from 'node:fs';
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
