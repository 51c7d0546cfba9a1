import { Registry } from 'prom-client';
import { graphqlOperationMetrics, operationLabeller } from './metrics.js';

describe('operationLabeller', () => {
  test('keeps operation names up to its bound, then labels new ones `other`; nameless operations are `anonymous`', () => {
    const label = operationLabeller(2);
    expect(label('CreateCheckout')).toBe('CreateCheckout');
    expect(label(undefined)).toBe('anonymous');
    expect(label('')).toBe('anonymous');
    expect(label('Payment')).toBe('Payment');
    expect(label('Seller')).toBe('other');
    // Names seen before the bound keep their own label.
    expect(label('CreateCheckout')).toBe('CreateCheckout');
  });

  test('a name that is not a GraphQL name, or is over 100 characters, is `other` and takes no slot', () => {
    const label = operationLabeller(1);
    expect(label('a b')).toBe('other');
    expect(label('x'.repeat(101))).toBe('other');
    expect(label('Fine')).toBe('Fine');
  });
});

test('the GraphQL metrics register once per registry under their documented names', () => {
  const registry = new Registry();
  graphqlOperationMetrics(registry);
  expect(registry.getMetricsAsArray().map((metric) => metric.name).sort()).toEqual(['clearhouse_graphql_errors_total', 'clearhouse_graphql_operation_duration_seconds']);
});
