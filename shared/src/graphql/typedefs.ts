// A subgraph's full SDL: the shared Federation link and types (common.graphql, written once),
// then the subgraph's own schema.graphql. Used by every subgraph server and by the offline
// supergraph composition, so both always see the same schema.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** shared/src/graphql/common.graphql, from src (tests) and from dist (compiled) alike. */
export const COMMON_TYPEDEFS_FILE = join(__dirname, '..', '..', 'src', 'graphql', 'common.graphql');

export function subgraphTypeDefs(schemaFile: string): string {
  return `${readFileSync(COMMON_TYPEDEFS_FILE, 'utf8')}\n${readFileSync(schemaFile, 'utf8')}`;
}
