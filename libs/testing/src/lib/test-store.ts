import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FsWorkspaceStore, S3WorkspaceStore, type WorkspaceStore } from '@sandbox/storage';
import { stackEnv } from './stack';

export interface TestStore {
  readonly store: WorkspaceStore;
  /** Settings that point an app at this store (STORAGE_DRIVER and its S3_* or STORAGE_FS_ROOT). */
  readonly env: Readonly<Record<string, string>>;
  drop(): Promise<void>;
}

/**
 * A store of its own on the real S3-compatible server of the stack (a fresh bucket), or in a fresh
 * directory for the filesystem driver.
 */
export async function createTestStore(driver: 's3' | 'fs'): Promise<TestStore> {
  if (driver === 'fs') {
    const root = mkdtempSync(join(tmpdir(), 'sandbox-store-'));
    const store = new FsWorkspaceStore(root);
    await store.prepare();
    return {
      store,
      env: { STORAGE_DRIVER: 'fs', STORAGE_FS_ROOT: root },
      drop: async () => rmSync(root, { recursive: true, force: true }),
    };
  }
  const stack = stackEnv();
  const bucket = `t-${randomBytes(6).toString('hex')}`;
  const store = new S3WorkspaceStore({
    bucket,
    region: 'us-east-1',
    endpoint: stack.S3_ENDPOINT,
    forcePathStyle: true,
    credentials: { accessKeyId: stack.S3_ACCESS_KEY_ID, secretAccessKey: stack.S3_SECRET_ACCESS_KEY },
  });
  await store.prepare();
  return {
    store,
    env: {
      STORAGE_DRIVER: 's3',
      S3_ENDPOINT: stack.S3_ENDPOINT,
      S3_BUCKET: bucket,
      S3_ACCESS_KEY_ID: stack.S3_ACCESS_KEY_ID,
      S3_SECRET_ACCESS_KEY: stack.S3_SECRET_ACCESS_KEY,
    },
    drop: async () => {
      await store.deletePrefix('');
      store.close();
    },
  };
}
