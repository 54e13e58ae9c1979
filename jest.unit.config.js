// Pure logic, no services: runs anywhere in seconds.
module.exports = require('./jest.preset')('unit');
