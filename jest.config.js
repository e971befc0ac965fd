/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // NB: PGlite and PostgreSQL tests each create their own database; two workers keep a 2-core box busy
  // without starving the database server.
  maxWorkers: 2,
  // NB: finds the test PostgreSQL, or starts an embedded one, before any worker starts; workers
  // inherit TEST_DATABASE_ADMIN_URL from it.
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
};
