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
