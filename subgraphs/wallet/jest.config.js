module.exports = { ...require('../../jest.preset.js'), displayName: 'wallet', roots: ['<rootDir>/src'] };
