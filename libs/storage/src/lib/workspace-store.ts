import { type Readable } from 'node:stream';

export interface StoredObject {
  readonly key: string;
  readonly size: number;
  /** Changes whenever the object's content is replaced; opaque (S3: the ETag, fs: size and mtime). */
  readonly etag: string;
  readonly lastModified: Date;
}

export interface ObjectBody {
  readonly body: Readable;
  readonly size: number;
  readonly etag: string;
  readonly contentType: string | null;
}

export interface PutOptions {
  readonly contentType?: string;
  /** Known length of a stream (lets S3 take it in one request when small). */
  readonly size?: number;
  /** Stops the transfer: nothing is stored (a multipart upload is aborted), the put rejects. */
  readonly signal?: AbortSignal;
}

/**
 * Where session workspaces live between containers: objects under string keys, streamed both ways so
 * that no workspace is ever held in memory whole. Keys are validated by the callers (sessionPrefix +
 * workspacePath); a driver refuses anything that would leave its own namespace all the same.
 */
export interface WorkspaceStore {
  readonly driver: 's3' | 'fs';
  /** Where a prefix lives, for `sessions.workspace_path` (s3://bucket/prefix, file:///root/prefix). */
  uri(prefix: string): string;
  /** Stores the body (a Buffer in one request; a stream multipart when large); resolves to the new etag. */
  put(key: string, body: Buffer | Readable, options?: PutOptions): Promise<string>;
  /** The object's body as a stream, or null when there is no such object; `signal` stops the transfer. */
  get(key: string, signal?: AbortSignal): Promise<ObjectBody | null>;
  head(key: string): Promise<StoredObject | null>;
  /** Every object under the prefix, page by page. */
  list(prefix: string): AsyncIterable<StoredObject>;
  /** Deletes these keys; missing ones are not an error. */
  delete(keys: readonly string[]): Promise<void>;
  /** Deletes everything under the prefix; resolves to how many objects went. */
  deletePrefix(prefix: string): Promise<number>;
  /**
   * Removes what interrupted writes under the prefix left behind (S3: multipart uploads started before
   * `before`; fs: temporary files older than it); resolves to how many. A server without the S3 call
   * (NotImplemented) has nothing to remove.
   */
  abortStaleUploads(prefix: string, before: Date): Promise<number>;
  /** A URL that downloads the object without credentials until it expires; fs: StoreUnsupportedError. */
  presignGet(key: string, expiresSeconds: number): Promise<string>;
  /** Rejects unless the store answers (readiness). */
  ping(): Promise<void>;
  /** Makes the store usable if it is not yet (S3: creates a missing bucket; fs: the directory). */
  prepare(): Promise<void>;
  close(): void;
}

export class StoreUnsupportedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StoreUnsupportedError';
  }
}

/** Every object under a prefix, collected (for tests and small listings; workspaces stream their manifest). */
export async function listAll(store: WorkspaceStore, prefix: string): Promise<StoredObject[]> {
  const all: StoredObject[] = [];
  for await (const o of store.list(prefix)) all.push(o);
  return all;
}
