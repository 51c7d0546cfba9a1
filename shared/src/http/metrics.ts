import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { Registry, collectDefaultMetrics, Histogram, Counter } from 'prom-client';

/** A registry per process with Node's default metrics, labelled with the service name. */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry });
  return registry;
}

export function graphqlOperationMetrics(registry: Registry): { duration: Histogram<'operation' | 'outcome'>; errors: Counter<'operation' | 'code'> } {
  const duration = new Histogram({
    name: 'clearhouse_graphql_operation_duration_seconds',
    help: 'GraphQL operation latency',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  const errors = new Counter({
    name: 'clearhouse_graphql_errors_total',
    help: 'GraphQL errors by code',
    labelNames: ['operation', 'code'] as const,
    registers: [registry],
  });
  return { duration, errors };
}

/** Distinct operation names one process reports before it labels the rest `other` (clients name operations). */
export const OPERATION_LABELS_MAX = 200;
const OPERATION_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,99}$/;

/** The `operation` label: the operation's name while fewer than OPERATION_LABELS_MAX have been seen, `anonymous` or `other` otherwise. */
export function operationLabeller(labelsMax = OPERATION_LABELS_MAX): (operationName: string | null | undefined) => string {
  const seen = new Set<string>();
  return (operationName) => {
    if (!operationName) return 'anonymous';
    if (seen.has(operationName)) return operationName;
    if (!OPERATION_NAME.test(operationName) || seen.size >= labelsMax) return 'other';
    seen.add(operationName);
    return operationName;
  };
}

function errorCodeOf(error: { extensions?: Record<string, unknown> }): string {
  const code = error.extensions?.['code'];
  return typeof code === 'string' && /^[A-Z_]{1,64}$/.test(code) ? code : 'INTERNAL_SERVER_ERROR';
}

/**
 * Records every GraphQL operation's latency (`clearhouse_graphql_operation_duration_seconds`, by
 * operation and outcome) and its errors by code (`clearhouse_graphql_errors_total`). Typed
 * `userErrors` in a payload are answers, not errors, and count as `ok`.
 */
export function graphqlMetricsPlugin<TContext extends BaseContext>(registry: Registry): ApolloServerPlugin<TContext> {
  const { duration, errors } = graphqlOperationMetrics(registry);
  const operationLabel = operationLabeller();
  return {
    async requestDidStart() {
      const startedNs = process.hrtime.bigint();
      let failed = false;
      return {
        async didEncounterErrors(requestContext) {
          failed = true;
          const operation = operationLabel(requestContext.operationName ?? requestContext.request.operationName);
          for (const error of requestContext.errors) errors.inc({ operation, code: errorCodeOf(error) });
        },
        async willSendResponse(requestContext) {
          const operation = operationLabel(requestContext.operationName ?? requestContext.request.operationName);
          duration.observe({ operation, outcome: failed ? 'error' : 'ok' }, Number(process.hrtime.bigint() - startedNs) / 1e9);
        },
      };
    },
  };
}
