module.exports = { ...require('../../jest.preset.js'), displayName: 'payouts', roots: ['<rootDir>/src'] };
