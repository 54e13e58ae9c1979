import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { access, lstat, mkdir, opendir, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { type ObjectBody, type PutOptions, type StoredObject, StoreUnsupportedError, type WorkspaceStore } from './workspace-store';

// temporary files live here, outside every key (keys may not start with it): any object name is listable
const PARTS = '.parts';

/**
 * WorkspaceStore on a local directory, for a single machine: one file per object, written to a
 * temporary file in `<root>/.parts/` and renamed into place so a reader never sees half an object.
 * The etag is the size and the nanosecond mtime of the file.
 */
export class FsWorkspaceStore implements WorkspaceStore {
  readonly driver = 'fs' as const;
  private readonly root: string;

  constructor(root: string) {
    this.root = resolve(root);
  }

  uri(prefix: string): string {
    return `file://${this.root}/${prefix}`;
  }

  async put(key: string, body: Buffer | Readable, options: PutOptions = {}): Promise<string> {
    const path = this.pathOf(key);
    await mkdir(dirname(path), { recursive: true });
    await mkdir(join(this.root, PARTS), { recursive: true });
    const temp = join(this.root, PARTS, randomBytes(12).toString('hex'));
    try {
      await pipeline(Buffer.isBuffer(body) ? Readable.from([body]) : body, createWriteStream(temp, { flags: 'wx' }), ...(options.signal ? [{ signal: options.signal }] : []));
      await rename(temp, path);
    } catch (e) {
      await rm(temp, { force: true });
      throw e;
    }
    return etagOf(await stat(path, { bigint: true }));
  }

  async get(key: string, signal?: AbortSignal): Promise<ObjectBody | null> {
    const path = this.pathOf(key);
    const st = await this.fileStat(path);
    if (!st) return null;
    return { body: createReadStream(path, signal ? { signal } : {}), size: Number(st.size), etag: etagOf(st), contentType: null };
  }

  async head(key: string): Promise<StoredObject | null> {
    const st = await this.fileStat(this.pathOf(key));
    return st ? { key, size: Number(st.size), etag: etagOf(st), lastModified: new Date(Number(st.mtimeMs)) } : null;
  }

  async *list(prefix: string): AsyncIterable<StoredObject> {
    // the deepest directory the prefix names; keys below it are filtered by the prefix itself
    const base = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    yield* this.walk(base ? this.pathOf(base) : this.root, prefix);
  }

  async delete(keys: readonly string[]): Promise<void> {
    for (const key of keys) {
      const path = this.pathOf(key);
      await unlink(path).catch((e: NodeJS.ErrnoException) => {
        if (e.code !== 'ENOENT') throw e;
      });
      await this.pruneDirs(dirname(path));
    }
  }

  async deletePrefix(prefix: string): Promise<number> {
    const keys: string[] = [];
    for await (const o of this.list(prefix)) keys.push(o.key);
    await this.delete(keys);
    return keys.length;
  }

  /** Temporary files of writes that never finished (the process died mid-put); the prefix plays no part. */
  async abortStaleUploads(_prefix: string, before: Date): Promise<number> {
    const dir = join(this.root, PARTS);
    const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)));
    let removed = 0;
    for (const name of names) {
      const st = await lstat(join(dir, name)).catch(() => null);
      if (st && st.mtimeMs < before.getTime()) {
        await rm(join(dir, name), { force: true });
        removed++;
      }
    }
    return removed;
  }

  presignGet(): Promise<string> {
    return Promise.reject(new StoreUnsupportedError('presigned URLs need the s3 storage driver; download through the API instead'));
  }

  async ping(): Promise<void> {
    await access(this.root);
  }

  async prepare(): Promise<void> {
    await mkdir(this.root, { recursive: true });
  }

  close(): void {}

  private pathOf(key: string): string {
    const path = resolve(this.root, key);
    if (!path.startsWith(this.root + sep) || key.split('/').some((s) => s === '' || s === '.' || s === '..') || key.includes('\\') || key.split('/')[0] === PARTS) {
      throw new Error(`object key '${key}' would leave the store's directory`);
    }
    return path;
  }

  private async fileStat(path: string) {
    try {
      const st = await lstat(path, { bigint: true });
      return st.isFile() ? st : null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
      throw e;
    }
  }

  private async *walk(dir: string, prefix: string): AsyncIterable<StoredObject> {
    let handle;
    try {
      handle = await opendir(dir);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return;
      throw e;
    }
    const names: { name: string; dir: boolean; file: boolean }[] = [];
    for await (const d of handle) names.push({ name: d.name, dir: d.isDirectory(), file: d.isFile() });
    names.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of names) {
      const path = join(dir, d.name);
      const key = relative(this.root, path).split(sep).join('/');
      // descend into directories inside the prefix, and into those on the way to it
      if (key === PARTS) continue;
      if (d.dir && (`${key}/`.startsWith(prefix) || prefix.startsWith(`${key}/`))) yield* this.walk(path, prefix);
      else if (d.file && key.startsWith(prefix)) {
        const st = await this.fileStat(path);
        if (st) yield { key, size: Number(st.size), etag: etagOf(st), lastModified: new Date(Number(st.mtimeMs)) };
      }
    }
  }

  /** Removes directories left empty by a delete, up to the root. */
  private async pruneDirs(dir: string): Promise<void> {
    while (dir.startsWith(this.root + sep)) {
      try {
        await rmdir(dir);
      } catch {
        // not empty (another file lives there) or already gone: nothing above it can be empty either
        return;
      }
      dir = dirname(dir);
    }
  }
}

function etagOf(st: { size: bigint; mtimeNs: bigint }): string {
  return `${st.size}-${st.mtimeNs}`;
}
