export * from './lib/ports';
export * from './lib/stack';
export * from './lib/test-database';
export * from './lib/test-redis';
export * from './lib/test-platform';
export * from './lib/test-store';
export * from './lib/private-services';
export * from './lib/otlp-receiver';
