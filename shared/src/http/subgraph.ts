// What every subgraph's GraphQL edge has in common: the Federation 2 schema, the verified caller
// from the gateway's signed headers (nothing else gets in), correlation ids, and one place where
// unexpected errors are logged and masked.
import type { IncomingMessage } from 'node:http';
import { randomUUID } from 'node:crypto';
import { ApolloServer, type ApolloServerPlugin, type BaseContext } from '@apollo/server';
import { ApolloServerPluginLandingPageDisabled } from '@apollo/server/plugin/disabled';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper/resolverMap.js';
import { GraphQLError, parse, type GraphQLFormattedError } from 'graphql';
import { CORRELATION_HEADER, verifyCaller, type Caller } from '../auth/index.js';
import type { Logger } from '../logging/index.js';

export interface RequestContext extends BaseContext {
  readonly caller: Caller;
  readonly correlationId: string;
  readonly logger: Logger;
}

/** Codes a client may see as they are; anything else is an internal error and is masked. */
const PUBLIC_ERROR_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'BAD_USER_INPUT',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
  'OPERATION_RESOLUTION_FAILURE',
  'BAD_REQUEST',
  'NOT_FOUND',
]);

export function unauthenticated(message = 'a valid API key is required'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'UNAUTHENTICATED', http: { status: 401 } } });
}

export function forbidden(message = 'this API key may not access that resource'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: 'FORBIDDEN' } });
}

export function maskUnexpectedError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  const code = formatted.extensions?.code;
  if (typeof code === 'string' && PUBLIC_ERROR_CODES.has(code)) return formatted;
  return { message: 'Internal server error', path: formatted.path, locations: formatted.locations, extensions: { code: 'INTERNAL_SERVER_ERROR' } };
}

function errorLoggingPlugin<TContext extends RequestContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didEncounterErrors({ errors, contextValue, operationName }) {
          for (const error of errors) {
            const code = error.extensions?.code;
            if (typeof code === 'string' && PUBLIC_ERROR_CODES.has(code)) continue;
            contextValue.logger?.error({ err: error.originalError ?? error, operationName, path: error.path }, 'unexpected GraphQL error');
          }
        },
      };
    },
  };
}

export interface SubgraphServerOptions<TContext extends RequestContext> {
  readonly typeDefs: string;
  readonly resolvers: GraphQLResolverMap<TContext>;
  readonly production: boolean;
  readonly plugins?: ApolloServerPlugin<TContext>[];
}

export function createSubgraphServer<TContext extends RequestContext>(options: SubgraphServerOptions<TContext>): ApolloServer<TContext> {
  return new ApolloServer<TContext>({
    schema: buildSubgraphSchema([{ typeDefs: parse(options.typeDefs), resolvers: options.resolvers as GraphQLResolverMap<unknown> }]),
    introspection: !options.production,
    csrfPrevention: true,
    // Shutdown is ordered by our own lifecycle (runUntilSignal), not by Apollo's signal handlers.
    stopOnTerminationSignals: false,
    includeStacktraceInErrorResponses: false,
    plugins: [ApolloServerPluginLandingPageDisabled(), errorLoggingPlugin<TContext>(), ...(options.plugins ?? [])],
    formatError: (formatted) => maskUnexpectedError(formatted),
  });
}

export function correlationIdOf(request: IncomingMessage): string {
  const given = request.headers[CORRELATION_HEADER];
  const value = Array.isArray(given) ? given[0] : given;
  return value && /^[A-Za-z0-9._:-]{1,128}$/.test(value) ? value : randomUUID();
}

/** Builds the per-request context; refuses any request without a valid gateway signature for this very request. */
export function subgraphContext(options: { signingSecret: string; logger: Logger }): (request: IncomingMessage, body: Buffer) => Promise<RequestContext> {
  return async (request, body) => {
    const caller = verifyCaller(request, body, options.signingSecret);
    if (!caller) throw unauthenticated('requests to subgraphs must come through the gateway (missing or invalid caller signature)');
    const correlationId = correlationIdOf(request);
    return { caller, correlationId, logger: options.logger.child({ correlationId }) };
  };
}
