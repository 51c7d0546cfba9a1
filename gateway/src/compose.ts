// Composes the supergraph offline from the subgraphs' own schema files, so the gateway never
// needs to introspect running subgraphs (and a stale committed supergraph is caught by a test).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { composeServices } from '@apollo/composition';
import { parse } from 'graphql';
import { subgraphTypeDefs } from '@clearhouse/shared';

export const SUBGRAPHS = [
  { name: 'payments', defaultUrl: 'http://localhost:4001/graphql' },
  { name: 'ledger', defaultUrl: 'http://localhost:4002/graphql' },
  { name: 'wallet', defaultUrl: 'http://localhost:4003/graphql' },
  { name: 'payouts', defaultUrl: 'http://localhost:4004/graphql' },
] as const;

export type SubgraphName = (typeof SUBGRAPHS)[number]['name'];

const repoRoot = join(__dirname, '..', '..');
export const SUPERGRAPH_PATH = join(repoRoot, 'gateway', 'src', 'supergraph.graphql');

export function subgraphSchemaPath(name: SubgraphName): string {
  return join(repoRoot, 'subgraphs', name, 'src', 'graphql', 'schema.graphql');
}

export function composeSupergraphSdl(): string {
  const services = SUBGRAPHS.map((s) => ({
    name: s.name,
    url: s.defaultUrl,
    typeDefs: parse(subgraphTypeDefs(subgraphSchemaPath(s.name))),
  }));
  const result = composeServices(services);
  if (result.errors && result.errors.length > 0) {
    const messages = result.errors.map((e) => `- ${e.message}`).join('\n');
    throw new Error(`supergraph composition failed:\n${messages}`);
  }
  if (!result.supergraphSdl) throw new Error('supergraph composition produced no SDL');
  return result.supergraphSdl;
}

if (require.main === module) {
  const sdl = composeSupergraphSdl();
  writeFileSync(SUPERGRAPH_PATH, sdl);
  console.log(`compose: wrote ${SUPERGRAPH_PATH} (${sdl.length} bytes)`);
}
