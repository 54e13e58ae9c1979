export * from './lib/catalog';
export * from './lib/connection';
export * from './lib/execution-events';
export * from './lib/queue-producer';
export * from './lib/worker-factory';
