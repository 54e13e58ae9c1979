import { type Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  AbortMultipartUploadCommand,
  CreateBucketCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  paginateListObjectsV2,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { type ObjectBody, type PutOptions, type StoredObject, type WorkspaceStore } from './workspace-store';

export interface S3StoreOptions {
  readonly bucket: string;
  readonly region: string;
  /** Any S3-compatible endpoint (MinIO, s3rver, Ceph); unset for AWS. */
  readonly endpoint?: string;
  /** Endpoint clients can reach, for presigned URLs, when it differs from the one the services use. */
  readonly publicEndpoint?: string;
  readonly forcePathStyle: boolean;
  /** Unset: the SDK's default chain (env, profile, instance role). */
  readonly credentials?: { readonly accessKeyId: string; readonly secretAccessKey: string };
  /** Multipart part size: streams larger than this go up in parts, at most `queueSize` at once. */
  readonly partSize?: number;
}

const DEFAULT_PART_SIZE = 8 << 20;
const DELETE_BATCH = 1000;

/** WorkspaceStore on S3 or any S3-compatible server, path-style by default. */
export class S3WorkspaceStore implements WorkspaceStore {
  readonly driver = 's3' as const;
  private readonly client: S3Client;
  private readonly presigner: S3Client;
  private readonly partSize: number;

  constructor(private readonly options: S3StoreOptions) {
    const config = (endpoint?: string): S3ClientConfig => ({
      region: options.region,
      forcePathStyle: options.forcePathStyle,
      ...(endpoint ? { endpoint } : {}),
      ...(options.credentials ? { credentials: options.credentials } : {}),
      // checksums only where S3 requires them: the CRC defaults are not understood by every
      // S3-compatible server, and TLS already protects the transfer
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      maxAttempts: 3,
    });
    this.client = new S3Client(config(options.endpoint));
    this.presigner = options.publicEndpoint ? new S3Client(config(options.publicEndpoint)) : this.client;
    this.partSize = options.partSize ?? DEFAULT_PART_SIZE;
  }

  uri(prefix: string): string {
    return `s3://${this.options.bucket}/${prefix}`;
  }

  async put(key: string, body: Buffer | Readable, options: PutOptions = {}): Promise<string> {
    const Bucket = this.options.bucket;
    const ContentType = options.contentType;
    if (!Buffer.isBuffer(body) && options.size !== undefined && options.size <= this.partSize) body = await buffer(body);
    const abortSignal = options.signal;
    abortSignal?.throwIfAborted();
    if (Buffer.isBuffer(body)) {
      const r = await this.client.send(new PutObjectCommand({ Bucket, Key: key, Body: body, ContentLength: body.length, ContentType }), { abortSignal });
      return etagOf(r.ETag);
    }
    // leavePartsOnError false: a failed or aborted upload aborts its multipart upload (S3 keeps the parts
    // of an unfinished one, billed, until someone does); a crash leaves it to abortStaleUploads
    const upload = new Upload({
      client: this.client,
      params: { Bucket, Key: key, Body: body, ContentType },
      partSize: this.partSize,
      queueSize: 4,
      leavePartsOnError: false,
    });
    const abort = () => void upload.abort().catch(() => undefined);
    abortSignal?.addEventListener('abort', abort, { once: true });
    try {
      const r = await upload.done();
      return etagOf(r.ETag);
    } finally {
      abortSignal?.removeEventListener('abort', abort);
    }
  }

  async get(key: string, signal?: AbortSignal): Promise<ObjectBody | null> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }), { abortSignal: signal });
      return { body: r.Body as Readable, size: r.ContentLength ?? 0, etag: etagOf(r.ETag), contentType: r.ContentType ?? null };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async head(key: string): Promise<StoredObject | null> {
    try {
      const r = await this.client.send(new HeadObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return { key, size: r.ContentLength ?? 0, etag: etagOf(r.ETag), lastModified: r.LastModified ?? new Date(0) };
    } catch (e) {
      if (isNotFound(e)) return null;
      throw e;
    }
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    for await (const page of paginateListObjectsV2({ client: this.client, pageSize: 1000 }, { Bucket: this.options.bucket, Prefix: prefix })) {
      for (const o of page.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, etag: etagOf(o.ETag), lastModified: o.LastModified ?? new Date(0) };
      }
    }
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      const r = await this.client.send(
        new DeleteObjectsCommand({ Bucket: this.options.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }),
      );
      const failed = (r.Errors ?? []).filter((e) => e.Code !== 'NoSuchKey');
      if (failed.length) throw new Error(`could not delete ${failed.length} objects, e.g. ${failed[0]!.Key}: ${failed[0]!.Code} ${failed[0]!.Message ?? ''}`);
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    let batch: string[] = [];
    let count = 0;
    for await (const o of this.list(prefix)) {
      batch.push(o.key);
      if (batch.length === DELETE_BATCH) {
        await this.delete(batch);
        count += batch.length;
        batch = [];
      }
    }
    await this.delete(batch);
    return count + batch.length;
  }

  async abortStaleUploads(prefix: string, before: Date): Promise<number> {
    const Bucket = this.options.bucket;
    let aborted = 0;
    try {
      let marker: { KeyMarker?: string; UploadIdMarker?: string } = {};
      for (;;) {
        const page = await this.client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: prefix, ...marker }));
        for (const u of page.Uploads ?? []) {
          if (!u.Key || !u.UploadId || !u.Initiated || u.Initiated >= before) continue;
          await this.client.send(new AbortMultipartUploadCommand({ Bucket, Key: u.Key, UploadId: u.UploadId })).catch((e) => {
            if (!isNotFound(e)) throw e;
          });
          aborted++;
        }
        if (!page.IsTruncated) break;
        marker = { KeyMarker: page.NextKeyMarker, UploadIdMarker: page.NextUploadIdMarker };
      }
    } catch (e) {
      // servers without multipart listing (s3rver) keep no unfinished uploads to list
      if (!isNotImplemented(e)) throw e;
    }
    return aborted;
  }

  presignGet(key: string, expiresSeconds: number): Promise<string> {
    return getSignedUrl(this.presigner, new GetObjectCommand({ Bucket: this.options.bucket, Key: key }), { expiresIn: expiresSeconds });
  }

  async ping(): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: this.options.bucket }));
  }

  /** Creates the bucket unless it exists (local stacks and compose; production buckets are provisioned). */
  async prepare(): Promise<void> {
    try {
      await this.ping();
    } catch (e) {
      if (!isNotFound(e)) throw e;
      await this.client.send(new CreateBucketCommand({ Bucket: this.options.bucket }));
    }
  }

  close(): void {
    this.client.destroy();
    if (this.presigner !== this.client) this.presigner.destroy();
  }
}

function etagOf(etag: string | undefined): string {
  return (etag ?? '').replace(/"/g, '');
}

function isNotImplemented(e: unknown): boolean {
  const err = e as { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NotImplemented' || err?.Code === 'NotImplemented' || err?.$metadata?.httpStatusCode === 501;
}

function isNotFound(e: unknown): boolean {
  const err = e as { name?: string; $metadata?: { httpStatusCode?: number } };
  return err?.name === 'NoSuchKey' || err?.name === 'NotFound' || err?.name === 'NoSuchBucket' || err?.$metadata?.httpStatusCode === 404;
}
