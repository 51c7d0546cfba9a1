// GraphQL subscriptions over graphql-ws on the gateway's /graphql path. @apollo/gateway does not
// execute subscriptions, so each one is answered here: authenticate the connection with the same
// API keys, check object-level access, then on every broker event for that payment or seller
// run the subscriber's own selection as a query through the federated graph and push the result.
// Every operation started on a connection passes the same gates as one sent over HTTP: the
// per-key rate limit, the token, depth, alias and cost limits, and in production no introspection
// and no field suggestions. Only subscriptions are served here; queries and mutations go over
// HTTP (graphql-ws would otherwise execute them locally, against the bare API schema).
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import { CloseCode } from 'graphql-ws';
import { useServer } from 'graphql-ws/use/ws';
import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  getOperationAST,
  parse,
  print,
  specifiedRules,
  validate,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type GraphQLFormattedError,
  type GraphQLSchema,
  type OperationDefinitionNode,
  type ValidationRule,
} from 'graphql';
import { getArgumentValues } from 'graphql/execution/values.js';
import { WebSocketServer } from 'ws';
import { canAccessSeller, parseBearer, type Caller, type Logger } from '@clearhouse/shared';
import type { ApiKeyResolver } from '../auth/api-keys.js';
import type { FailedAuthentications } from '../auth/failed-authentications.js';
import type { GatewayContext } from '../context.js';
import { RATE_LIMITED, withoutSuggestions } from '../errors.js';
import { BoundedQueue, type TopicBus } from './event-bus.js';
import { paymentTopic, sellerTopic, type ReleaseDemand, type SubscriptionDemand, type SubscriptionEvent } from './feed.js';

const UPDATES_BUFFERED_MAX = 100;
/** graphql-armor's default token limit, which the gateway's HTTP path applies. */
const QUERY_TOKENS_MAX = 1_000;

/** Which query answers each subscription field, and with which argument. */
const ROOTS = {
  paymentUpdated: { queryField: 'payment', argument: 'paymentId', queryArgument: 'id', topic: paymentTopic },
  sellerBalancesUpdated: { queryField: 'seller', argument: 'sellerId', queryArgument: 'id', topic: sellerTopic },
} as const;
type RootName = keyof typeof ROOTS;

interface SubscriptionContext extends GatewayContext {
  readonly execute: (query: string, variables: Record<string, unknown> | undefined) => Promise<ExecutionResult>;
}

function errorResult(message: string, code: string): ExecutionResult {
  return { errors: [new GraphQLError(message, { extensions: { code } })] };
}

/**
 * graphql-ws serializes each error with its toJSON(): Apollo's already formatted errors (plain
 * objects) become GraphQLErrors again. Their locations point into the query derived from the
 * subscription, not into the client's document, so they are left out.
 */
function asGraphQLError(formatted: GraphQLFormattedError): GraphQLError {
  return new GraphQLError(formatted.message, { path: formatted.path, extensions: formatted.extensions });
}

/** The subscription's selection as a query on the matching root field, under the same response key. */
export function subscriptionAsQuery(document: DocumentNode, operation: OperationDefinitionNode, field: FieldNode, root: RootName): string {
  const spec = ROOTS[root];
  const argument = field.arguments?.find((a) => a.name.value === spec.argument);
  const queryField: FieldNode = {
    ...field,
    alias: { kind: Kind.NAME, value: field.alias?.value ?? field.name.value },
    name: { kind: Kind.NAME, value: spec.queryField },
    arguments: argument ? [{ ...argument, name: { kind: Kind.NAME, value: spec.queryArgument } }] : [],
  };
  const queryOperation: OperationDefinitionNode = {
    ...operation,
    operation: 'query' as OperationDefinitionNode['operation'],
    selectionSet: { ...operation.selectionSet, selections: [queryField] },
  };
  const definitions = document.definitions.map((d) => (d === operation ? queryOperation : d)).filter((d) => d.kind !== Kind.OPERATION_DEFINITION || d === queryOperation);
  return print({ ...document, definitions });
}

/** Response keys at the root selection for `status`, so a pushed update shows the status of the change that caused it. */
function statusKeys(field: FieldNode): string[] {
  return (field.selectionSet?.selections ?? [])
    .filter((s): s is FieldNode => s.kind === Kind.FIELD && s.name.value === 'status')
    .map((s) => s.alias?.value ?? s.name.value);
}

/** Exported for tests. */
export function subscribeThroughGateway(args: ExecutionArgs, bus: TopicBus<SubscriptionEvent>, feed: SubscriptionDemand): Promise<AsyncIterable<ExecutionResult> | ExecutionResult> | ExecutionResult {
  const context = args.contextValue as SubscriptionContext;
  const operation = getOperationAST(args.document, args.operationName ?? undefined);
  if (!operation || operation.operation !== 'subscription') return errorResult('expected a subscription operation', 'BAD_USER_INPUT');
  const field = operation.selectionSet.selections[0];
  if (!field || field.kind !== Kind.FIELD || !(field.name.value in ROOTS) || operation.selectionSet.selections.length !== 1) {
    return errorResult(`subscribe to exactly one of: ${Object.keys(ROOTS).join(', ')}`, 'BAD_USER_INPUT');
  }
  const root = field.name.value as RootName;
  const fieldDef = args.schema.getSubscriptionType()?.getFields()[root];
  if (!fieldDef) return errorResult(`unknown subscription ${root}`, 'BAD_USER_INPUT');
  const argumentValues = getArgumentValues(fieldDef, field, args.variableValues ?? {});
  const subject = String(argumentValues[ROOTS[root].argument]);
  if (root === 'sellerBalancesUpdated' && !canAccessSeller(context.caller, subject)) {
    return errorResult('a seller key may only subscribe to its own seller', 'FORBIDDEN');
  }
  const query = subscriptionAsQuery(args.document, operation, field, root);
  const variables = args.variableValues ?? undefined;
  const responseKey = field.alias?.value ?? field.name.value;
  const keysForStatus = root === 'paymentUpdated' ? statusKeys(field) : [];

  return (async () => {
    // The same query now proves the caller may see this payment or seller (null or an error otherwise).
    const first = await context.execute(query, variables);
    const visible = (first.data as Record<string, unknown> | null | undefined)?.[responseKey];
    if (!visible) return first.errors?.length ? { errors: first.errors } : errorResult('not found or not visible to this API key', 'FORBIDDEN');

    // Listen on the bus first: whatever the feed delivers as soon as the queue is bound is buffered.
    let unsubscribe: () => void = () => undefined;
    let release: ReleaseDemand = () => undefined;
    const events = new BoundedQueue<SubscriptionEvent>(UPDATES_BUFFERED_MAX, () => {
      unsubscribe();
      release();
    });
    unsubscribe = bus.subscribe(ROOTS[root].topic(subject), (event) => events.push(event));
    try {
      // The queue receives the events only while some subscription demands them. Waiting for the
      // bindings here, before the iterator is returned, means an event published after the
      // subscription is established is not missed. If the broker cannot bind, the client gets an
      // error (and may retry) rather than a subscription that silently never updates.
      release = await feed.demand();
    } catch (error) {
      events.close();
      context.logger.warn({ err: error }, 'subscription refused: the event feed is unavailable');
      return errorResult('live updates are unavailable right now; retry later', 'SERVICE_UNAVAILABLE');
    }

    async function* updates(): AsyncGenerator<ExecutionResult> {
      try {
        for await (const event of events) {
          const result = await context.execute(query, variables);
          const data = result.data as Record<string, Record<string, unknown> | null> | null | undefined;
          const node = data?.[responseKey];
          if (node && event.type === 'payment.status_changed') {
            for (const key of keysForStatus) node[key] = event.payload.to;
          }
          yield result;
        }
      } finally {
        events.close();
      }
    }
    // Nothing below can throw: from here on, closing the queue (end of the subscription) releases the demand.
    return closingOnReturn(updates(), () => events.close());
  })();
}

/**
 * graphql-ws ends a subscription with return(). An async generator suspended in an await (here:
 * waiting for the next event, which may never come) only handles return() once it next yields,
 * and one never started skips its finally altogether; either way the bus listener and the feed
 * demand would be held on. So close the event queue first: the pending await ends at once.
 */
function closingOnReturn<T>(generator: AsyncGenerator<T>, close: () => void): AsyncIterableIterator<T> {
  return {
    next: () => generator.next(),
    return: (value?: unknown) => {
      close();
      return generator.return(value);
    },
    throw: (error: unknown) => {
      close();
      return generator.throw(error);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

export interface SubscriptionServerOptions {
  readonly httpServer: HttpServer;
  readonly path: string;
  readonly apollo: ApolloServer<GatewayContext>;
  readonly schema: () => GraphQLSchema;
  readonly keys: ApiKeyResolver;
  /** The per-address budget of failed authentications shared with HTTP. */
  readonly failedAuthentications: FailedAuthentications;
  /** The client address of the upgrade request (behind a trusted proxy, from X-Forwarded-For), as for HTTP. */
  readonly clientAddressOf: (request: IncomingMessage) => string;
  readonly bus: TopicBus<SubscriptionEvent>;
  /** Binds the feed's queue while subscriptions are open. */
  readonly feed: SubscriptionDemand;
  readonly logger: Logger;
  /** Validation beyond the specification's rules: the gateway's depth, alias and cost limits. */
  readonly validationRules: readonly ValidationRule[];
  /** In production: no introspection and no field suggestions. */
  readonly production: boolean;
  /** The per-key rate limit shared with HTTP: resolves when the caller may start an operation, rejects (with the error to send) when not. */
  readonly admit: (caller: Caller) => Promise<void>;
}

/** Refuses, with the errors to send, what may not run over graphql-ws; otherwise the execution arguments. */
export async function admitOperation(
  options: Pick<SubscriptionServerOptions, 'schema' | 'validationRules' | 'production' | 'admit'>,
  caller: Caller | undefined,
  payload: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
): Promise<readonly GraphQLError[] | ExecutionArgs> {
  if (!caller) return [new GraphQLError('unauthenticated', { extensions: { code: 'UNAUTHENTICATED' } })];
  try {
    await options.admit(caller);
  } catch (error) {
    // The error without its HTTP status (an HTTP-only extension).
    const code = error instanceof GraphQLError && typeof error.extensions.code === 'string' ? error.extensions.code : 'RATE_LIMITED';
    return [new GraphQLError(error instanceof GraphQLError ? error.message : 'rate limit exceeded for this API key', { extensions: { code } })];
  }
  let document: DocumentNode;
  try {
    document = parse(payload.query, { maxTokens: QUERY_TOKENS_MAX });
  } catch (error) {
    const message = error instanceof GraphQLError ? error.message : 'the query could not be parsed';
    return [new GraphQLError(message, { extensions: { code: 'GRAPHQL_PARSE_FAILED' } })];
  }
  const schema = options.schema();
  const rules = [...specifiedRules, ...options.validationRules, ...(options.production ? [NoSchemaIntrospectionCustomRule] : [])];
  const invalid = validate(schema, document, rules);
  if (invalid.length > 0) {
    return invalid.map(
      (error) =>
        new GraphQLError(options.production ? withoutSuggestions(error.message) : error.message, {
          nodes: error.nodes,
          extensions: { ...error.extensions, code: 'GRAPHQL_VALIDATION_FAILED' },
        }),
    );
  }
  const operation = getOperationAST(document, payload.operationName ?? undefined);
  if (!operation || operation.operation !== 'subscription') {
    return [new GraphQLError('only subscriptions are served over graphql-ws: send queries and mutations as HTTP POST requests', { extensions: { code: 'BAD_REQUEST' } })];
  }
  return { schema, document, operationName: payload.operationName ?? undefined, variableValues: payload.variables ?? undefined };
}

export function startSubscriptionServer(options: SubscriptionServerOptions): { stop(): Promise<void> } {
  const wsServer = new WebSocketServer({ server: options.httpServer, path: options.path });
  // The key a connection authenticated with, looked up again (through the resolver's short cache)
  // for every operation and every pushed update: a key revoked while its connection is open stops
  // receiving data within the cache TTL, as it does over HTTP.
  const connections = new WeakMap<object, { readonly caller: Caller; readonly secret: string }>();
  type Verdict = { readonly caller: Caller } | { readonly refused: ExecutionResult };
  async function verify(ctx: { extra: { socket: { close(code: number, reason: string): void } } }): Promise<Verdict> {
    const connection = connections.get(ctx);
    if (!connection) return { refused: errorResult('unauthenticated', 'UNAUTHENTICATED') };
    let current: Caller | null;
    try {
      current = await options.keys.resolve(connection.secret);
    } catch (error) {
      options.logger.warn({ err: error, keyId: connection.caller.keyId }, 'subscription: the API key could not be looked up');
      return { refused: errorResult('the API key could not be verified right now; retry later', 'SERVICE_UNAVAILABLE') };
    }
    if (current && current.keyId === connection.caller.keyId && current.role === connection.caller.role && current.sellerId === connection.caller.sellerId) return { caller: current };
    connections.delete(ctx);
    // 4403 Forbidden, as for a connection refused at the start: every subscription on it ends.
    ctx.extra.socket.close(4403, 'Forbidden');
    return { refused: errorResult('the API key is no longer valid', 'UNAUTHENTICATED') };
  }
  const cleanup = useServer<Record<string, unknown> | undefined>(
    {
      schema: () => options.schema(),
      onSubscribe: async (ctx, _id, payload) => {
        const verdict = await verify(ctx);
        if ('refused' in verdict) return [...(verdict.refused.errors ?? [])];
        const admitted = await admitOperation(options, verdict.caller, payload);
        return Array.isArray(admitted) ? [...admitted] : (admitted as ExecutionArgs);
      },
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const header = (params.authorization ?? params.Authorization) as string | undefined;
        const secret = parseBearer(header);
        if (!secret) return false;
        let caller: Caller | null;
        try {
          caller = await options.failedAuthentications.authenticate(options.clientAddressOf(ctx.extra.request), () => options.keys.resolve(secret));
        } catch (error) {
          // An address over its budget is told so (graphql-ws's own code for too many attempts); a failed lookup is refused as before.
          if (error instanceof GraphQLError && error.extensions.code === RATE_LIMITED) ctx.extra.socket.close(CloseCode.TooManyInitialisationRequests, 'Too many failed authentications');
          return false;
        }
        if (!caller) return false;
        connections.set(ctx, { caller, secret });
        return true;
      },
      context: (ctx) => {
        const caller = connections.get(ctx)?.caller;
        if (!caller) throw new GraphQLError('unauthenticated', { extensions: { code: 'UNAUTHENTICATED' } });
        const correlationId = randomUUID();
        const base: GatewayContext = { caller, correlationId, logger: options.logger.child({ correlationId, keyId: caller.keyId }) };
        const execute = async (query: string, variables: Record<string, unknown> | undefined): Promise<ExecutionResult> => {
          const verdict = await verify(ctx);
          if ('refused' in verdict) return verdict.refused;
          const response = await options.apollo.executeOperation({ query, variables }, { contextValue: base });
          if (response.body.kind !== 'single') return errorResult('unexpected incremental response', 'INTERNAL_SERVER_ERROR');
          const { data, errors } = response.body.singleResult;
          return errors ? { data, errors: errors.map(asGraphQLError) } : { data };
        };
        const context: SubscriptionContext = { ...base, execute };
        return context as unknown as Record<string, unknown>;
      },
      subscribe: (args) => subscribeThroughGateway(args, options.bus, options.feed),
    },
    wsServer,
  );
  return {
    stop: async () => {
      await cleanup.dispose();
      await new Promise<void>((resolve) => wsServer.close(() => resolve()));
    },
  };
}
