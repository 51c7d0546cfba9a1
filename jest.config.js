// One Jest run over every workspace's own tests and the black-box end-to-end suite.
// `testTimeout` is a global option (projects cannot set it): the e2e suite waits on real
// payments, webhooks and retry tiers, bounded by each test's own deadlines.
module.exports = {
  testTimeout: 60000,
  projects: [
    '<rootDir>/shared',
    '<rootDir>/gateway',
    '<rootDir>/subgraphs/payments',
    '<rootDir>/subgraphs/ledger',
    '<rootDir>/subgraphs/wallet',
    '<rootDir>/subgraphs/payouts',
    '<rootDir>/psp-simulator',
    '<rootDir>/tests',
  ],
};
