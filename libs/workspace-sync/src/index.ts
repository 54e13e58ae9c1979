export * from './lib/workspace-sync';
