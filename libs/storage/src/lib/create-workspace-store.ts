import { type StorageConfig } from '@sandbox/config';
import { FsWorkspaceStore } from './fs-workspace-store';
import { S3WorkspaceStore } from './s3-workspace-store';
import { type WorkspaceStore } from './workspace-store';

/** The store the settings name (STORAGE_DRIVER and its S3_* or STORAGE_FS_ROOT settings). */
export function createWorkspaceStore(config: StorageConfig): WorkspaceStore {
  if (config.STORAGE_DRIVER === 'fs') return new FsWorkspaceStore(config.STORAGE_FS_ROOT!);
  return new S3WorkspaceStore({
    bucket: config.S3_BUCKET,
    region: config.S3_REGION,
    forcePathStyle: config.S3_FORCE_PATH_STYLE,
    ...(config.S3_ENDPOINT ? { endpoint: config.S3_ENDPOINT } : {}),
    ...(config.S3_PUBLIC_ENDPOINT ? { publicEndpoint: config.S3_PUBLIC_ENDPOINT } : {}),
    ...(config.S3_ACCESS_KEY_ID && config.S3_SECRET_ACCESS_KEY
      ? { credentials: { accessKeyId: config.S3_ACCESS_KEY_ID, secretAccessKey: config.S3_SECRET_ACCESS_KEY } }
      : {}),
  });
}
