module.exports = { ...require('../../jest.preset.js'), displayName: 'ledger', roots: ['<rootDir>/src'] };
