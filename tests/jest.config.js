// The black-box suite: starts the whole platform once (own databases, broker prefix and ports,
// so it never touches a running `npm start`) and talks to it through the gateway.
module.exports = {
  ...require('../jest.preset.js'),
  displayName: 'e2e',
  roots: ['<rootDir>/e2e'],
  globalSetup: '<rootDir>/e2e/support/global-setup.ts',
  globalTeardown: '<rootDir>/e2e/support/global-teardown.ts',
  testTimeout: 60000,
};
