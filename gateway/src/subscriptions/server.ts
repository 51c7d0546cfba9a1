// GraphQL subscriptions over graphql-ws on the gateway's /graphql path. @apollo/gateway does not
// execute subscriptions, so each one is answered here: authenticate the connection with the same
// API keys, check object-level access, then on every broker event for that payment or seller
// run the subscriber's own selection as a query through the federated graph and push the result.
import type { Server as HttpServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import type { ApolloServer } from '@apollo/server';
import { useServer } from 'graphql-ws/use/ws';
import {
  GraphQLError,
  Kind,
  getOperationAST,
  print,
  type DocumentNode,
  type ExecutionArgs,
  type ExecutionResult,
  type FieldNode,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';
import { getArgumentValues } from 'graphql/execution/values.js';
import { WebSocketServer } from 'ws';
import { canAccessSeller, parseBearer, type Caller, type Logger } from '@clearhouse/shared';
import type { ApiKeyResolver } from '../auth/api-keys.js';
import type { GatewayContext } from '../context.js';
import { BoundedQueue, type TopicBus } from './event-bus.js';
import { paymentTopic, sellerTopic, type ReleaseDemand, type SubscriptionDemand, type SubscriptionEvent } from './feed.js';

const UPDATES_BUFFERED_MAX = 100;

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
  readonly bus: TopicBus<SubscriptionEvent>;
  /** Binds the feed's queue while subscriptions are open. */
  readonly feed: SubscriptionDemand;
  readonly logger: Logger;
}

export function startSubscriptionServer(options: SubscriptionServerOptions): { stop(): Promise<void> } {
  const wsServer = new WebSocketServer({ server: options.httpServer, path: options.path });
  const callers = new WeakMap<object, Caller>();
  const cleanup = useServer<Record<string, unknown> | undefined>(
    {
      schema: () => options.schema(),
      onConnect: async (ctx) => {
        const params = ctx.connectionParams ?? {};
        const header = (params.authorization ?? params.Authorization) as string | undefined;
        const secret = parseBearer(header);
        const caller = secret ? await options.keys.resolve(secret).catch(() => null) : null;
        if (!caller) return false;
        callers.set(ctx, caller);
        return true;
      },
      context: (ctx) => {
        const caller = callers.get(ctx);
        if (!caller) throw new GraphQLError('unauthenticated', { extensions: { code: 'UNAUTHENTICATED' } });
        const correlationId = randomUUID();
        const base: GatewayContext = { caller, correlationId, logger: options.logger.child({ correlationId, keyId: caller.keyId }) };
        const execute = async (query: string, variables: Record<string, unknown> | undefined): Promise<ExecutionResult> => {
          const response = await options.apollo.executeOperation({ query, variables }, { contextValue: base });
          if (response.body.kind !== 'single') return errorResult('unexpected incremental response', 'INTERNAL_SERVER_ERROR');
          return response.body.singleResult as ExecutionResult;
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
