// Module boundaries (DESIGN.md §1): libraries depend inward. The domain imports no framework or
// driver; the container runtime is the agent's alone; apps compose libraries and never each other.
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

const drivers = ['@nestjs/*', 'typeorm', 'mysql2', 'bullmq', 'ioredis', 'dockerode', '@aws-sdk/*', 'pino', 'pino-*', 'nestjs-*', 'express', 'prom-client', '@opentelemetry/*'];

const depConstraints = [
  { sourceTag: 'type:domain', onlyDependOnLibsWithTags: ['type:domain'], bannedExternalImports: drivers },
  { sourceTag: 'type:config', onlyDependOnLibsWithTags: ['type:domain'] },
  { sourceTag: 'type:infra', onlyDependOnLibsWithTags: ['type:domain', 'type:config', 'type:infra'] },
  { sourceTag: 'type:testing', onlyDependOnLibsWithTags: ['type:domain', 'type:config', 'type:infra'] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: ['type:domain', 'type:config', 'type:infra'] },
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:control-plane', onlyDependOnLibsWithTags: ['scope:shared', 'scope:control-plane'] },
  { sourceTag: 'scope:agent', onlyDependOnLibsWithTags: ['scope:shared', 'scope:agent'] },
  { sourceTag: 'scope:reaper', onlyDependOnLibsWithTags: ['scope:shared'] },
];
const boundaries = (allow, ignoredCircularDependencies = []) => [
  'error',
  { enforceBuildableLibDependency: false, allow, banTransitiveDependencies: true, depConstraints, ignoredCircularDependencies },
];
const testFiles = ['**/*.spec.ts', '**/*.integration-spec.ts', '**/*.e2e-spec.ts'];

export default [
  { ignores: ['**/dist', '**/node_modules', '**/.stack', '**/.nx', 'docker/**', 'tools/**/*.js', '*.js'] },
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { '@nx': nx },
    // Nest injects by the constructor's parameter types: with decorator metadata on, the type-import
    // rule keeps those imports as values instead of breaking dependency injection.
    languageOptions: { parserOptions: { emitDecoratorMetadata: true, experimentalDecorators: true } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports', disallowTypeAnnotations: false }],
      'no-restricted-properties': ['error', { object: 'process', property: 'env', message: 'Read settings through @sandbox/config.' }],
      '@nx/enforce-module-boundaries': boundaries([]),
    },
  },
  {
    files: ['libs/config/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // tests, and only tests, may use the test helpers (real-service fixtures). The fixtures make
    // workspace stores and the store's own tests use the fixtures: a cycle through test code only.
    files: [...testFiles, 'libs/testing/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['@sandbox/testing'], [['testing', 'storage']]) },
  },
  {
    // tests read arbitrary JSON answers and give spawned processes an environment of their own
    files: [...testFiles, 'libs/testing/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-explicit-any': 'off', 'no-restricted-properties': 'off' },
  },
];
