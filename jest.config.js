/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  // NB: PGlite and PostgreSQL tests each create their own database; two workers keep a 2-core box busy
  // without starving the database server.
  maxWorkers: 2,
  testTimeout: 60000,
};
