// Module boundaries (docs/architecture.md): each library has its own tag and the libraries it may use;
// each external system has one library that owns its driver; apps compose libraries, never each
// other, and import no driver themselves. A broken rule fails lint (npm test).
import nx from '@nx/eslint-plugin';
import tseslint from 'typescript-eslint';

// the one owner of each external system's driver
const DRIVERS = {
  mariadb: ['typeorm', '@nestjs/typeorm', 'mysql2', 'mysql2/*'],
  redis: ['bullmq', 'ioredis', 'rate-limiter-flexible'],
  docker: ['dockerode'],
  s3: ['@aws-sdk/*'],
  otel: ['@opentelemetry/*', 'bullmq-otel'],
};
const FRAMEWORKS = ['@nestjs/*', 'nestjs-*', 'express', 'pino', 'pino-*', 'prom-client'];
const driversBut = (...owned) => Object.entries(DRIVERS).flatMap(([system, packages]) => (owned.includes(system) ? [] : packages));

const LIBS = ['domain', 'config', 'telemetry', 'persistence', 'queue', 'runtime', 'storage', 'workspace-sync'];
const lib = (name) => `lib:${name}`;
const depConstraints = [
  // pure rules: no framework, no driver, no I/O (see the node: modules banned below)
  { sourceTag: lib('domain'), onlyDependOnLibsWithTags: [], bannedExternalImports: [...driversBut(), ...FRAMEWORKS] },
  { sourceTag: lib('config'), onlyDependOnLibsWithTags: [lib('domain')], bannedExternalImports: [...driversBut(), ...FRAMEWORKS] },
  { sourceTag: lib('telemetry'), onlyDependOnLibsWithTags: [lib('domain'), lib('config')], bannedExternalImports: driversBut('otel') },
  { sourceTag: lib('persistence'), onlyDependOnLibsWithTags: [lib('domain'), lib('config'), lib('telemetry')], bannedExternalImports: driversBut('mariadb') },
  // the queue carries ids between processes; it never reads or writes rows itself
  { sourceTag: lib('queue'), onlyDependOnLibsWithTags: [lib('domain'), lib('config'), lib('telemetry')], bannedExternalImports: driversBut('redis') },
  { sourceTag: lib('runtime'), onlyDependOnLibsWithTags: [lib('domain'), lib('config'), lib('telemetry')], bannedExternalImports: driversBut('docker') },
  { sourceTag: lib('storage'), onlyDependOnLibsWithTags: [lib('domain'), lib('config'), lib('telemetry')], bannedExternalImports: driversBut('s3') },
  // moves files between a sandbox and the store through their own libraries, never their drivers
  { sourceTag: lib('workspace-sync'), onlyDependOnLibsWithTags: [lib('domain'), lib('telemetry'), lib('runtime'), lib('storage')], bannedExternalImports: driversBut() },
  // the published client of the REST API: no library of ours, no package at all (Node 20 and browsers)
  { sourceTag: lib('sdk'), onlyDependOnLibsWithTags: [], bannedExternalImports: ['*'] },
  // real-service fixtures for tests and benchmarks: any library, never an app
  { sourceTag: lib('testing'), onlyDependOnLibsWithTags: [...LIBS.map(lib), lib('sdk')] },
  { sourceTag: 'type:tool', onlyDependOnLibsWithTags: [...LIBS.map(lib), lib('testing'), lib('sdk')] },
  { sourceTag: 'type:app', onlyDependOnLibsWithTags: LIBS.map(lib), bannedExternalImports: driversBut() },
  // the `sandbox` command line: a client of the API like any other, through the SDK only
  { sourceTag: 'type:cli', onlyDependOnLibsWithTags: [lib('sdk')], bannedExternalImports: [...driversBut(), ...FRAMEWORKS] },
  // the container runtime and the workspace sync are the agent's alone
  { sourceTag: 'scope:shared', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:control-plane', onlyDependOnLibsWithTags: ['scope:shared', 'scope:control-plane'] },
  { sourceTag: 'scope:agent', onlyDependOnLibsWithTags: ['scope:shared', 'scope:agent'] },
  { sourceTag: 'scope:reaper', onlyDependOnLibsWithTags: ['scope:shared'] },
  { sourceTag: 'scope:tools', onlyDependOnLibsWithTags: ['scope:shared', 'scope:agent', 'scope:testing'] },
  { sourceTag: 'scope:testing', onlyDependOnLibsWithTags: ['scope:shared', 'scope:agent'] },
];
const boundaries = (allow, ignoredCircularDependencies = []) => [
  'error',
  { enforceBuildableLibDependency: false, allow, banTransitiveDependencies: true, depConstraints, ignoredCircularDependencies },
];
// the end-to-end folders hold test code only: specs and the suites they share (hostile-suite.ts)
const testFiles = ['**/*.spec.ts', '**/*.integration-spec.ts', '**/*.e2e-spec.ts', 'apps/*/e2e/**/*.ts'];

// The runtime agent's folders, lowest first: a folder imports only from folders before it (and the
// app's root files), so no loop like sessions → executions → sessions can come back.
const AGENT = 'apps/runtime-agent/src/app';
const AGENT_LAYERS = ['metrics', 'capacity', 'pool', 'sessions', 'executions', 'teardown', 'node', 'queue', 'lifecycle'];
const agentLayerRules = AGENT_LAYERS.map((folder, i) => ({
  files: [`${AGENT}/${folder}/**/*.ts`],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          {
            group: [...AGENT_LAYERS.slice(i + 1).map((higher) => `../${higher}/*`), '../agent.module'],
            message: `${folder}/ sits below ${AGENT_LAYERS.slice(i + 1).join(', ')} (agent layers, eslint.config.mjs): move the shared piece down instead.`,
          },
        ],
      },
    ],
  },
}));

// The domain does no I/O: time comes in as a Clock, randomness as a function (node:crypto hashes only).
const IO_MODULES = ['fs', 'fs/promises', 'child_process', 'net', 'http', 'https', 'dns', 'dgram', 'os', 'worker_threads', 'cluster'].flatMap((m) => [m, `node:${m}`]);

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
      // an empty catch hides why something failed: log it, or say in the code why it cannot matter
      'no-empty': ['error', { allowEmptyCatch: false }],
      '@nx/enforce-module-boundaries': boundaries([]),
    },
  },
  {
    files: ['libs/domain/src/**/*.ts'],
    ignores: testFiles,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [
            ...IO_MODULES.map((name) => ({ name, message: 'libs/domain does no I/O: take what you need as a parameter.' })),
            ...['crypto', 'node:crypto'].map((name) => ({ name, importNames: ['randomBytes', 'randomUUID', 'randomInt'], message: 'libs/domain takes randomness as a function (RandomBytes).' })),
          ],
        },
      ],
    },
  },
  {
    // the SDK runs in browsers too: web globals (fetch, ReadableStream, TextDecoder) only
    files: ['libs/sdk/src/**/*.ts'],
    ignores: testFiles,
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', ...IO_MODULES, 'crypto', 'stream', 'buffer', 'util', 'path', 'events', 'url'], message: 'libs/sdk runs in browsers too: use web globals (fetch, ReadableStream, TextDecoder, crypto.randomUUID).' }] }],
      'no-restricted-globals': ['error', ...['process', 'Buffer', 'require', '__dirname', 'setImmediate'].map((name) => ({ name, message: 'libs/sdk runs in browsers too: no Node globals.' }))],
    },
  },
  ...agentLayerRules,
  {
    files: ['libs/config/**/*.ts', 'tools/**/*.ts'],
    rules: { 'no-restricted-properties': 'off' },
  },
  {
    // tests, and only tests, may use the test helpers (real-service fixtures). The fixtures make
    // stores, sandboxes and manifests, whose own tests use the fixtures: cycles through test code only.
    files: [...testFiles, 'libs/testing/**/*.ts'],
    rules: { '@nx/enforce-module-boundaries': boundaries(['@sandbox/testing'], [['testing', 'storage'], ['testing', 'runtime'], ['testing', 'persistence']]) },
  },
  {
    // tests read arbitrary JSON answers and give spawned processes an environment of their own
    files: [...testFiles, 'libs/testing/**/*.ts'],
    rules: { '@typescript-eslint/no-non-null-assertion': 'off', '@typescript-eslint/no-explicit-any': 'off', 'no-restricted-properties': 'off' },
  },
];
