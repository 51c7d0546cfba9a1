// How errors leave the gateway, over HTTP and over graphql-ws alike: the one place where what a
// client may see is decided (STYLE habit 8). Codes a client can act on pass; anything else is an
// internal error, masked here and logged by the caller.
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { maskUnexpectedError } from '@clearhouse/shared';

export const RATE_LIMITED = 'RATE_LIMITED';

export function rateLimited(message = 'rate limit exceeded for this API key'): GraphQLError {
  return new GraphQLError(message, { extensions: { code: RATE_LIMITED, http: { status: 429 } } });
}

/**
 * Extensions that describe the platform's insides, never the client's request: a subgraph's stack
 * trace, and `response`, which @apollo/gateway attaches (the subgraph's URL, status and body) when
 * a subgraph answers the gateway with a non-2xx status.
 */
const INTERNAL_EXTENSIONS: readonly string[] = ['stacktrace', 'exception', 'response'];

/**
 * A subgraph that answered HTTP 401/403 refused the gateway itself (its caller signature), not the
 * client's key; @apollo/gateway still labels that UNAUTHENTICATED or FORBIDDEN. It is ours to fix.
 */
export function isInternalError(extensions: Readonly<Record<string, unknown>> | undefined): boolean {
  return extensions !== undefined && extensions.response !== undefined;
}

/** The gateway's formatError. */
export function publicError(formatted: GraphQLFormattedError): GraphQLFormattedError {
  if (isInternalError(formatted.extensions)) return maskUnexpectedError({ ...formatted, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  const visible = formatted.extensions?.code === RATE_LIMITED ? formatted : maskUnexpectedError(formatted);
  const extensions = visible.extensions;
  if (!extensions || !INTERNAL_EXTENSIONS.some((name) => name in extensions)) return visible;
  return { ...visible, extensions: Object.fromEntries(Object.entries(extensions).filter(([name]) => !INTERNAL_EXTENSIONS.includes(name))) };
}

const SUGGESTION = /Did you mean ".+"/g;

/** Field and type suggestions describe the schema: in production they are hidden as introspection is. */
export function withoutSuggestions(message: string): string {
  return message.replace(SUGGESTION, '[Suggestion hidden]');
}
