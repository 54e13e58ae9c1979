// Shared by the three suites (unit, integration, e2e): SWC with decorator metadata, and the
// tsconfig path aliases.
const { readFileSync } = require('node:fs');
const swc = JSON.parse(readFileSync(`${__dirname}/.swcrc`, 'utf8'));
delete swc.$schema;

module.exports = (kind, extra = {}) => ({
  displayName: kind,
  rootDir: __dirname,
  testEnvironment: 'node',
  testMatch: [`<rootDir>/{apps,libs,tools}/**/*.${kind === 'unit' ? 'spec' : `${kind}-spec`}.ts`],
  transform: { '^.+\\.ts$': ['@swc/jest', swc] },
  moduleNameMapper: { '^@sandbox/(.*)$': '<rootDir>/libs/$1/src/index.ts' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  ...extra,
});
