// GraphQL: the contract's custom scalars and the Money mapper.
export { BIGINT_MAX, BigIntScalar, DateTimeScalar, JSONScalar, parseDateTimeStrict, scalarResolvers } from './scalars.js';
export { moneyToGraphQL } from './money.js';
export { createLoader, type Loader } from './loader.js';
export * from './typedefs.js';
