// One Jest run over every workspace's own tests and the black-box end-to-end suite.
module.exports = {
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
