/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+\\.ts$': ['ts-jest', { diagnostics: false }],
    // NB: jose (jwks-rsa's JWT library, under agents-hosting's token check) ships ES modules only.
    // Node 20.19 requires them natively; Jest's module runtime does not, so they are compiled for it.
    '^.+/node_modules/jose/.+\\.js$': ['ts-jest', { diagnostics: false, tsconfig: { allowJs: true, module: 'commonjs', target: 'ES2022', isolatedModules: true } }],
  },
  transformIgnorePatterns: ['/node_modules/(?!jose/)'],
  // NB: PGlite and PostgreSQL tests each create their own database; two workers keep a 2-core box busy
  // without starving the database server.
  maxWorkers: 2,
  // NB: finds the test PostgreSQL, or starts an embedded one, before any worker starts; workers
  // inherit TEST_DATABASE_ADMIN_URL from it.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
};
