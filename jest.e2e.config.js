// The HTTP API with a real control plane and runtime agent (built apps, spawned processes) on the real stack.
module.exports = require('./jest.preset')('e2e', {
  testTimeout: 120_000,
  globalSetup: '<rootDir>/libs/testing/src/e2e-global-setup.ts',
});
