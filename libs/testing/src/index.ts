export * from './lib/stack';
export * from './lib/test-database';
