// Shared by the three suites (unit, integration, e2e): SWC with decorator metadata, and the
// tsconfig path aliases.
const { readFileSync } = require('node:fs');
const swc = JSON.parse(readFileSync(`${__dirname}/.swcrc`, 'utf8'));
delete swc.$schema;

// ESM-only packages (the Kubernetes client and what it imports): compiled to CommonJS like our code
const ESM_ONLY = ['@kubernetes/client-node', 'openid-client', 'oauth4webapi', 'jose', 'jsonpath-plus', 'rfc4648'];
const swcJs = { ...swc, jsc: { ...swc.jsc, parser: { syntax: 'ecmascript' } } };

module.exports = (kind, extra = {}) => ({
  displayName: kind,
  rootDir: __dirname,
  // only the sources: the haste map never crawls .stack (the cluster's image snapshots hold package.json files)
  roots: ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/tools'],
  testEnvironment: 'node',
  testMatch: [`<rootDir>/{apps,libs,tools}/**/*.${kind === 'unit' ? 'spec' : `${kind}-spec`}.ts`],
  transform: { '^.+\\.ts$': ['@swc/jest', swc], '^.+\\.m?js$': ['@swc/jest', swcJs] },
  transformIgnorePatterns: [`/node_modules/(?!(${ESM_ONLY.join('|')})/)`],
  moduleNameMapper: { '^@sandbox/(.*)$': '<rootDir>/libs/$1/src/index.ts' },
  moduleFileExtensions: ['ts', 'js', 'json'],
  ...extra,
});
