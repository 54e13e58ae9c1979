export * from './lib/logger-options';
