// Test helpers shared by every workspace's tests.
export {
  createTestDatabase,
  createEmptyTestDatabase,
  dropStaleTestDatabases,
  templateDatabaseName,
  TEST_DATABASE_PREFIX,
  TEMPLATE_DATABASE_PREFIX,
  type TestDatabase,
  type TestDatabaseOptions,
  type DropStaleOptions,
} from './database.js';
export * from './broker.js';
export * from './consumers.js';
export * from './counting.js';
export * from './ports.js';
