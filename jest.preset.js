// Shared Jest settings for every workspace (CommonJS via ts-jest, transpile-only: `npm run
// typecheck` is where types are checked). Prisma 7's client loads its WebAssembly query
// compiler with a dynamic import(), which Jest only allows under --experimental-vm-modules;
// scripts/test.mjs sets that flag.
const path = require('node:path');
const root = __dirname;

/** Jest's own test (jest-runtime's supportsSyncEvaluate) for loading ES modules with require(). */
function jestRequiresEsmNatively() {
  return typeof require('node:vm').SourceTextModule?.prototype.hasAsyncGraph === 'function';
}

module.exports = {
  testEnvironment: 'node',
  transform: {
    '^.+\\.[tj]s$': [
      'ts-jest',
      {
        tsconfig: {
          allowJs: true,
          module: 'node20',
          moduleResolution: 'node16',
          types: ['node', 'jest'],
          isolatedModules: true,
          esModuleInterop: true,
        },
      },
    ],
  },
  // graphql-request 7 ships only ES modules. Where Jest can require() them natively (Node 24.9
  // and later, with --experimental-vm-modules), it loads them as they are, and a CommonJS
  // transpilation would then run as an ES module and fail; on older Node it is transpiled like
  // our own code.
  transformIgnorePatterns: jestRequiresEsmNatively() ? ['/node_modules/'] : ['/node_modules/(?!(graphql-request)/)'],
  moduleNameMapper: {
    '^graphql-request$': path.join(root, 'node_modules/graphql-request/build/entrypoints/main.js'),
    '^@clearhouse/shared$': path.join(root, 'shared/src/index.ts'),
    '^@clearhouse/shared/(.*)$': path.join(root, 'shared/src/$1'),
    '^(\\.{1,2}/.*)\\.js$': '$1',
  },
  testTimeout: 30000,
};
