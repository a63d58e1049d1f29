/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  testMatch: ['<rootDir>/__test__/**/*.test.js'],
  modulePathIgnorePatterns: [
    '<rootDir>/target/',
    '<rootDir>/npm/',
    '<rootDir>/artifacts/',
    '<rootDir>/examples/',
  ],
  // The e2e suite builds and starts a real Next.js app.
  testTimeout: 30_000,
}
