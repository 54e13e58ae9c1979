export * from './lib/create-workspace-store';
export * from './lib/fs-workspace-store';
export * from './lib/s3-workspace-store';
export * from './lib/workspace-store';
export * from './lib/storage.module';
export * from './lib/mime-type';
