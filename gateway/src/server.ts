// The gateway: Apollo Server 5 with @apollo/gateway on the committed, offline-composed
// supergraph. Authenticates every request, rate-limits per key, limits query depth, aliases and
// cost, and forwards the caller to subgraphs in signed headers.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { IncomingMessage } from 'node:http';
import { ApolloGateway } from '@apollo/gateway';
import { ApolloServer, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { ApolloArmor } from '@escape.tech/graphql-armor';
import { RateLimiterMemory } from 'rate-limiter-flexible';
import { Connection } from 'rabbitmq-client';
import type { GraphQLSchema } from 'graphql';
import {
  correlationIdOf,
  createMetricsRegistry,
  graphqlMetricsPlugin,
  parseBearer,
  startHttpService,
  unauthenticated,
  type Caller,
  type HttpService,
  type Logger,
  type Stoppable,
} from '@clearhouse/shared';
import { ApiKeyResolver } from './auth/api-keys.js';
import { clientAddressResolver } from './auth/client-address.js';
import { FailedAuthentications } from './auth/failed-authentications.js';
import type { GatewayContext } from './context.js';
import { SignedSubgraphDataSource } from './datasource.js';
import { applyLibraryEnv, type GatewayEnv } from './env.js';
import { isInternalError, publicError, rateLimited } from './errors.js';
import { SubgraphHttpClient } from './subgraph-http.js';
import { TopicBus } from './subscriptions/event-bus.js';
import { startSubscriptionFeed, type SubscriptionEvent } from './subscriptions/feed.js';
import { startSubscriptionServer } from './subscriptions/server.js';

export const SUPERGRAPH_FILE = join(__dirname, '..', 'src', 'supergraph.graphql');

export interface RunningGateway {
  readonly http: HttpService;
  readonly parts: readonly Stoppable[];
}

function subgraphUrls(env: GatewayEnv): Record<string, string> {
  return { payments: env.PAYMENTS_URL, ledger: env.LEDGER_URL, wallet: env.WALLET_URL, payouts: env.PAYOUTS_URL };
}

async function subgraphReady(graphqlUrl: string): Promise<boolean> {
  try {
    const response = await fetch(new URL('/readyz', graphqlUrl), { signal: AbortSignal.timeout(1_500) });
    return response.ok;
  } catch {
    return false;
  }
}

export async function startGateway(env: GatewayEnv, logger: Logger): Promise<RunningGateway> {
  const production = env.NODE_ENV === 'production';
  const urls = subgraphUrls(env);
  // One keep-alive client for every call to a subgraph (query plans and API-key lookups); it is
  // closed last, once nothing can send through it any more.
  const subgraphHttp = new SubgraphHttpClient();
  const subgraphFetcher = subgraphHttp.fetcher(env.SUBGRAPH_TIMEOUT_MS);
  applyLibraryEnv(env);
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(SUPERGRAPH_FILE, 'utf8'),
    buildService: ({ name, url }) => new SignedSubgraphDataSource(urls[name] ?? url ?? '', env.INTERNAL_SIGNING_SECRET, subgraphFetcher),
  });
  let apiSchema: GraphQLSchema | null = null;
  gateway.onSchemaLoadOrUpdate(({ apiSchema: loaded }) => {
    apiSchema = loaded;
  });
  const armor = new ApolloArmor({
    maxDepth: { n: env.QUERY_DEPTH_MAX },
    maxAliases: { n: env.QUERY_ALIASES_MAX },
    costLimit: { maxCost: env.QUERY_COST_MAX },
    blockFieldSuggestion: { enabled: production },
  }).protect();
  const metrics = createMetricsRegistry('gateway');
  const server = new ApolloServer<GatewayContext>({
    gateway,
    csrfPrevention: true,
    // Shutdown is ordered by our own lifecycle (runUntilSignal), not by Apollo's signal handlers.
    stopOnTerminationSignals: false,
    introspection: !production,
    allowBatchedHttpRequests: false,
    includeStacktraceInErrorResponses: false,
    validationRules: armor.validationRules,
    plugins: [
      ...(armor.plugins as never[]),
      production ? ApolloServerPluginLandingPageDisabled() : ApolloServerPluginLandingPageLocalDefault({ embed: true, includeCookies: false }),
      graphqlMetricsPlugin<GatewayContext>(metrics),
      internalErrorLoggingPlugin(),
    ],
    formatError: (formatted) => publicError(formatted),
  });
  await server.start();

  const keys = new ApiKeyResolver({ paymentsBaseUrl: env.PAYMENTS_URL, signingSecret: env.INTERNAL_SIGNING_SECRET, cacheTtlMs: env.AUTH_CACHE_TTL_MS, http: subgraphHttp });
  const limiter = new RateLimiterMemory({ points: env.RATE_LIMIT_PER_SECOND, duration: 1 });
  const failedAuthentications = new FailedAuthentications(env.AUTH_FAILURE_LIMIT_PER_MINUTE);
  const clientAddressOf = clientAddressResolver(env.TRUSTED_PROXIES);
  /** One budget per key for every operation it starts: HTTP requests and graphql-ws subscriptions. */
  async function admit(caller: Caller): Promise<void> {
    try {
      await limiter.consume(caller.keyId);
    } catch {
      throw rateLimited();
    }
  }

  async function context(request: IncomingMessage): Promise<GatewayContext> {
    const secret = parseBearer(request.headers.authorization);
    if (!secret) throw unauthenticated('missing API key: send Authorization: Bearer <key>');
    const caller = await failedAuthentications.authenticate(clientAddressOf(request), () => keys.resolve(secret));
    if (!caller) throw unauthenticated('invalid API key');
    await admit(caller);
    const correlationId = correlationIdOf(request);
    return { caller, correlationId, logger: logger.child({ correlationId, keyId: caller.keyId }) };
  }

  const broker = new Connection({ url: env.AMQP_URL, connectionName: `${env.BROKER_PREFIX}.gateway` });
  broker.on('error', (error) => logger.warn({ err: error }, 'broker connection error'));
  const bus = new TopicBus<SubscriptionEvent>();
  const feed = startSubscriptionFeed({ connection: broker, brokerPrefix: env.BROKER_PREFIX, bus, logger });

  const http = await startHttpService<GatewayContext>({
    service: 'gateway',
    port: env.GATEWAY_PORT,
    host: env.GATEWAY_HOST,
    logger,
    metrics,
    graphql: { server, path: '/graphql', context },
    readiness: async () => {
      const entries = await Promise.all(Object.entries(urls).map(async ([name, url]) => [name, await subgraphReady(url)] as const));
      return { ...Object.fromEntries(entries), broker: broker.ready };
    },
  });
  const subscriptions = startSubscriptionServer({
    httpServer: http.server,
    path: '/graphql',
    apollo: server,
    schema: () => {
      if (!apiSchema) throw new Error('the supergraph schema is not loaded yet');
      return apiSchema;
    },
    keys,
    failedAuthentications,
    clientAddressOf,
    bus,
    feed,
    logger,
    validationRules: armor.validationRules,
    production,
    admit,
  });
  return {
    http,
    parts: [
      { name: 'subgraph http client', stop: () => subgraphHttp.close() },
      { name: 'broker', stop: () => broker.close() },
      { name: 'subscription feed', stop: () => feed.close() },
      { name: 'apollo', stop: () => server.stop() },
      { name: 'http', stop: () => http.close() },
      { name: 'subscriptions', stop: () => subscriptions.stop() },
    ],
  };
}

/** Errors masked for the client (publicError) are logged here, with the correlation id, for operators. */
function internalErrorLoggingPlugin(): ApolloServerPlugin<GatewayContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue }) {
          for (const error of errors) {
            const masked = publicError(error.toJSON()).extensions?.code === 'INTERNAL_SERVER_ERROR';
            if (masked || isInternalError(error.extensions)) contextValue.logger?.error({ err: error.originalError ?? error, path: error.path }, 'unexpected GraphQL error');
          }
        },
      };
    },
  };
}
