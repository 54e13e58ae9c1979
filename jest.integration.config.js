// Real MariaDB, Redis and Docker started by tools/stack-up.sh; a missing service fails the run.
module.exports = require('./jest.preset')('integration', {
  testTimeout: 60_000,
  globalSetup: '<rootDir>/libs/testing/src/global-setup.ts',
});
