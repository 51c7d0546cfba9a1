// Starts a subgraph's GraphQL edge (Apollo + HTTP) the same way in every subgraph.
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import type { Registry } from 'prom-client';
import { subgraphTypeDefs } from '../graphql/typedefs.js';
import type { Logger } from '../logging/index.js';
import type { Stoppable } from './lifecycle.js';
import { createMetricsRegistry, graphqlMetricsPlugin } from './metrics.js';
import { startHttpService, type HttpService, type RawRoute, type ReadinessChecks } from './server.js';
import { createSubgraphServer, subgraphContext, type RequestContext } from './subgraph.js';

export interface SubgraphServiceOptions<TContext extends RequestContext> {
  readonly service: string;
  readonly port: number;
  readonly host: string;
  readonly production: boolean;
  readonly signingSecret: string;
  readonly logger: Logger;
  readonly schemaFile: string;
  readonly resolvers: GraphQLResolverMap<TContext>;
  readonly extendContext: (base: RequestContext) => TContext;
  readonly routes?: readonly RawRoute[];
  readonly readiness: ReadinessChecks;
  /** Largest request body accepted (default: the HTTP service's 1 MiB). */
  readonly bodyBytesMax?: number;
  /**
   * The service's registry, served at GET /metrics (default: a new one with Node's default
   * metrics). Pass the one the service's messaging and PSP metrics were added to.
   */
  readonly metrics?: Registry;
}

export async function startSubgraphService<TContext extends RequestContext>(
  options: SubgraphServiceOptions<TContext>,
): Promise<{ http: HttpService; parts: Stoppable[] }> {
  const metrics = options.metrics ?? createMetricsRegistry(options.service);
  const server = createSubgraphServer<TContext>({
    typeDefs: subgraphTypeDefs(options.schemaFile),
    resolvers: options.resolvers,
    production: options.production,
    plugins: [graphqlMetricsPlugin<TContext>(metrics)],
  });
  await server.start();
  const baseContext = subgraphContext({ signingSecret: options.signingSecret, logger: options.logger });
  const http = await startHttpService<TContext>({
    service: options.service,
    port: options.port,
    host: options.host,
    logger: options.logger,
    metrics,
    graphql: { server, path: '/graphql', context: async (request, body) => options.extendContext(await baseContext(request, body)) },
    routes: options.routes ?? [],
    readiness: options.readiness,
    ...(options.bodyBytesMax === undefined ? {} : { bodyBytesMax: options.bodyBytesMax }),
  });
  return {
    http,
    parts: [
      { name: 'apollo', stop: () => server.stop() },
      { name: 'http', stop: () => http.close() },
    ],
  };
}
