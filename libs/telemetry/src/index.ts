export * from './lib/logger-options';
export * from './lib/metrics';
export * from './lib/tracing';
