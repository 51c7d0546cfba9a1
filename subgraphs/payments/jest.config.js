module.exports = { ...require('../../jest.preset.js'), displayName: 'payments', roots: ['<rootDir>/src'] };
