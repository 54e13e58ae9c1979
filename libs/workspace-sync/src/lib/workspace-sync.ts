import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  type Artifact,
  type ManifestEntry,
  planPull,
  planPush,
  type ScannedEntry,
  type Session,
  sessionPrefix,
  SKIPPED_LISTED,
  type SkippedArtifacts,
  type SkippedFile,
  type StoredFile,
  type WorkspaceLimits,
  isWorkspacePath,
} from '@sandbox/domain';
import { MAX_IO_BYTES, type Sandbox } from '@sandbox/runtime';
import { listAll, mimeTypeOf, type WorkspaceStore } from '@sandbox/storage';
import picomatch from 'picomatch';

/** Files up to this size travel in batches (several per request and in memory); larger ones stream. */
const SMALL_FILE_BYTES = 1 << 20;
const STORE_CONCURRENCY = 8;
// the scan may list directories and skipped entries next to the files it keeps
const SCAN_SLACK = 1000;

/** What the agent knows of the workspace inside one container. */
export interface WorkspaceState {
  readonly manifest: Map<string, ManifestEntry>;
  /** The workspace_version the container holds; null until it was restored into this container. */
  version: number | null;
  /** The container's workspace holds unknown files (re-attached after an agent restart). */
  unknown: boolean;
}

export function freshWorkspace(unknown = false): WorkspaceState {
  return { manifest: new Map(), version: null, unknown };
}

export interface PushResult {
  readonly artifacts: Artifact[];
  readonly collected: Artifact[] | null;
  readonly skipped: SkippedArtifacts | null;
}

/** Where the session's workspace version is recorded (sessions.workspace_version). */
export interface WorkspaceVersions {
  /** Bumps the version if it is still `from`; true when it did. */
  bumpWorkspace(sessionId: string, from: number): Promise<boolean>;
}

/** The structured logger the engine reports to (pino's shape). */
export interface SyncLog {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

/** The session fields the engine reads. */
type SyncedSession = Pick<Session, 'id' | 'workspaceVersion'>;

class WorkspaceRestoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkspaceRestoreError';
  }
}

/**
 * Keeps a session's container and its stored workspace in step: `pull` before an execution makes the
 * container hold what the store holds (after a new container, or a change through the API); `push`
 * after it stores what the run changed and says which files those were. Everything moves through the
 * sandbox's executor in pieces of at most MAX_IO_BYTES, so memory stays flat whatever the workspace.
 */
export class WorkspaceSync {
  constructor(
    private readonly store: WorkspaceStore,
    private readonly versions: WorkspaceVersions,
    private readonly log: SyncLog,
  ) {}

  /**
   * Makes the container hold the session's stored workspace, unless it already does. A file that
   * cannot be written into the container (a symlink in its way, a full disk) is left out and listed;
   * a store that cannot be read fails the pull, to be tried again before the next execution.
   */
  async pull(sandbox: Sandbox, state: WorkspaceState, session: SyncedSession): Promise<SkippedFile[]> {
    const version = session.workspaceVersion;
    if (state.version === version && !state.unknown) return [];
    const t0 = Date.now();
    if (state.unknown) {
      // the store is the state of record: files of a container we lost track of are not trusted
      const errors = await sandbox.wipe();
      if (errors.length) throw new WorkspaceRestoreError(`cannot empty the workspace: ${errors[0]!.path}: ${errors[0]!.error}`);
      state.manifest.clear();
      state.unknown = false;
    }
    // version 0: nothing was ever stored, no need to ask the store
    const stored = version === 0 ? [] : await this.storedFiles(session.id);
    const plan = planPull(state.manifest, stored);
    if (plan.remove.length) {
      const errors = await sandbox.remove(plan.remove);
      if (errors.length) throw new WorkspaceRestoreError(`cannot delete '${errors[0]!.path}' from the workspace: ${errors[0]!.error}`);
      for (const path of plan.remove) state.manifest.delete(path);
    }
    const failed = await this.download(sandbox, state, session.id, plan.download);
    state.version = version;
    if (plan.download.length || plan.remove.length) {
      this.log.info(
        { session_id: session.id, files: plan.download.length, removed: plan.remove.length, failed: failed.length, duration_ms: Date.now() - t0 },
        'workspace restored from the store',
      );
    }
    return failed;
  }

  /** Stores what the last run changed, within the template's limits; returns the run's artifacts. */
  async push(sandbox: Sandbox, state: WorkspaceState, session: SyncedSession, limits: WorkspaceLimits, collect: readonly string[] | null): Promise<PushResult> {
    const t0 = Date.now();
    const scan = await sandbox.scan(limits.maxFiles + SCAN_SLACK);
    const plan = planPush(state.manifest, scan, limits);
    const skipped: SkippedFile[] = [...plan.skipped];
    // past the scan's limit files are only counted, never listed: over the limits anyway, and listing them could be huge
    const unlisted: SkippedFile | null = scan.truncated
      ? {
          path: '*',
          size: null,
          reason: `${scan.counted ? '' : 'over '}${scan.unlistedFiles} more files past the first ${limits.maxFiles + SCAN_SLACK} workspace entries: over the workspace limits, not stored`,
        }
      : null;
    const artifacts = (await this.upload(sandbox, state, session.id, plan.upload, skipped)).sort(byPath);
    if (plan.remove.length) {
      try {
        await this.store.delete(plan.remove.map((path) => sessionPrefix(session.id) + path));
        for (const path of plan.remove) state.manifest.delete(path);
      } catch (e) {
        skipped.push({ path: '*', size: null, reason: `deleted files are still stored: ${(e as Error).message}` });
      }
    }
    if ((artifacts.length || plan.remove.length) && state.version !== null) {
      // our own change: record it, and keep our copy current unless someone else changed the store meanwhile
      if (await this.versions.bumpWorkspace(session.id, state.version)) state.version++;
    }
    const result = {
      artifacts,
      collected: collect?.length ? this.collect(state, collect) : null,
      skipped:
        skipped.length || unlisted
          ? { count: skipped.length + scan.unlistedFiles, items: (unlisted ? [unlisted, ...skipped] : skipped).slice(0, SKIPPED_LISTED) }
          : null,
    };
    if (artifacts.length || plan.remove.length || result.skipped) {
      this.log.info(
        { session_id: session.id, stored: artifacts.length, deleted: plan.remove.length, skipped: skipped.length, duration_ms: Date.now() - t0 },
        'workspace stored',
      );
    }
    return result;
  }

  private async storedFiles(sessionId: string): Promise<StoredFile[]> {
    const prefix = sessionPrefix(sessionId);
    return (await listAll(this.store, prefix))
      .map((o) => ({ path: o.key.slice(prefix.length), size: o.size, etag: o.etag }))
      .filter((f) => isWorkspacePath(f.path));
  }

  private async download(sandbox: Sandbox, state: WorkspaceState, sessionId: string, files: readonly StoredFile[]): Promise<SkippedFile[]> {
    const key = (path: string) => sessionPrefix(sessionId) + path;
    const failed: SkippedFile[] = [];
    const notRestored = (f: StoredFile, error: string) => failed.push({ path: f.path, size: f.size, reason: `not restored into the container: ${error}` });
    const small = files.filter((f) => f.size <= SMALL_FILE_BYTES);
    // small files: fetched a few at a time, written several per request
    for (const batch of batches(small, (f) => f.size)) {
      const bodies = await mapLimit(batch, STORE_CONCURRENCY, async (f) => {
        const o = await this.store.get(key(f.path));
        if (!o) throw new WorkspaceRestoreError(`'${f.path}' vanished from the store while it was restored`);
        return { f, data: await buffer(o.body), etag: o.etag };
      });
      const results = await sandbox.write(bodies.map(({ f, data }) => ({ path: f.path, offset: 0, data, last: true })));
      results.forEach((r, i) => {
        const { f, data, etag } = bodies[i]!;
        if (r.error || r.token === undefined) notRestored(f, r.error ?? 'no answer');
        else state.manifest.set(f.path, { size: data.length, sha256: sha256(data), etag, token: r.token });
      });
    }
    // large files: streamed, one piece of MAX_IO_BYTES at a time
    for (const f of files.filter((x) => x.size > SMALL_FILE_BYTES)) {
      const o = await this.store.get(key(f.path));
      if (!o) throw new WorkspaceRestoreError(`'${f.path}' vanished from the store while it was restored`);
      const hash = createHash('sha256');
      let offset = 0;
      let token: string | undefined;
      let error: string | undefined;
      for await (const piece of pieces(o.body, MAX_IO_BYTES)) {
        hash.update(piece);
        const [r] = await sandbox.write([{ path: f.path, offset, data: piece, last: offset + piece.length >= o.size }]);
        if (r?.error) {
          error = r.error;
          o.body.destroy();
          break;
        }
        offset += piece.length;
        token = r?.token ?? token;
      }
      if (error || token === undefined) notRestored(f, error ?? 'no answer');
      else state.manifest.set(f.path, { size: offset, sha256: hash.digest('hex'), etag: o.etag, token });
    }
    return failed;
  }

  private async upload(sandbox: Sandbox, state: WorkspaceState, sessionId: string, files: readonly ScannedEntry[], skipped: SkippedFile[]): Promise<Artifact[]> {
    const artifacts: Artifact[] = [];
    const stored = (e: ScannedEntry, size: number, digest: string, etag: string, token: string) => {
      state.manifest.set(e.path, { size, sha256: digest, etag, token });
      artifacts.push({ path: e.path, size, mime_type: mimeTypeOf(e.path), sha256: digest, etag });
    };
    const failed = (e: ScannedEntry, error: unknown) => {
      this.log.warn({ session_id: sessionId, path: e.path, err: error }, 'cannot store a workspace file');
      skipped.push({ path: e.path, size: e.size, reason: `not stored: ${(error as Error).message ?? String(error)}` });
    };
    // small files: read several per request, stored a few at a time while the next batch is read
    let storing: Promise<unknown> = Promise.resolve();
    for (const batch of batches(files.filter((e) => e.size <= SMALL_FILE_BYTES), (e) => e.size)) {
      const read = await sandbox.read(batch.map((e) => ({ path: e.path, offset: 0, length: SMALL_FILE_BYTES })));
      await storing;
      storing = mapLimit(read, STORE_CONCURRENCY, async (r, i) => {
        const e = batch[i]!;
        if ('error' in r) return failed(e, new Error(r.error));
        try {
          const etag = await this.store.put(sessionPrefix(sessionId) + e.path, r.data, { contentType: mimeTypeOf(e.path) });
          stored(e, r.data.length, sha256(r.data), etag, r.token);
        } catch (err) {
          failed(e, err);
        }
      });
    }
    await storing;
    // large files: a stream that pulls the next piece from the sandbox only when the store wants it
    for (const e of files.filter((x) => x.size > SMALL_FILE_BYTES)) {
      const hash = createHash('sha256');
      let size = 0;
      let token = e.token;
      try {
        const body = Readable.from(
          (async function* () {
            for (let eof = false; !eof; ) {
              const [r] = await sandbox.read([{ path: e.path, offset: size, length: MAX_IO_BYTES }]);
              if (!r || 'error' in r) throw new Error(r ? r.error : 'no answer');
              hash.update(r.data);
              size += r.data.length;
              token = r.token;
              eof = r.eof || r.data.length === 0;
              if (r.data.length) yield r.data;
            }
          })(),
        );
        const etag = await this.store.put(sessionPrefix(sessionId) + e.path, body, { contentType: mimeTypeOf(e.path), size: e.size });
        stored(e, size, hash.digest('hex'), etag, token);
      } catch (err) {
        failed(e, err);
      }
    }
    return artifacts;
  }

  private collect(state: WorkspaceState, patterns: readonly string[]): Artifact[] {
    const matches = picomatch([...patterns], { dot: true });
    return [...state.manifest.entries()]
      .filter(([path]) => matches(path))
      .map(([path, m]) => ({ path, size: m.size, mime_type: mimeTypeOf(path), sha256: m.sha256, etag: m.etag }))
      .sort(byPath);
  }
}

function byPath(a: { path: string }, b: { path: string }): number {
  return a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Groups items into batches of at most MAX_IO_BYTES (by `size`) and 256 items. */
function batches<T>(items: readonly T[], size: (item: T) => number): T[][] {
  const out: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    if (current.length && (bytes + size(item) > MAX_IO_BYTES || current.length >= 256)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size(item);
  }
  if (current.length) out.push(current);
  return out;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!, i);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Re-chunks a stream into pieces of exactly `size` bytes (the last one shorter). */
async function* pieces(stream: Readable, size: number): AsyncIterable<Buffer> {
  let parts: Buffer[] = [];
  let held = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    parts.push(chunk);
    held += chunk.length;
    while (held >= size) {
      const all = Buffer.concat(parts);
      yield all.subarray(0, size);
      parts = [all.subarray(size)];
      held = all.length - size;
    }
  }
  if (held) yield Buffer.concat(parts);
}
