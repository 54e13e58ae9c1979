import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import {
  type Artifact,
  attemptWriter,
  type CommitResult,
  type ManifestEntry,
  needsDownload,
  planPush,
  removedFrom,
  type ScannedEntry,
  type Session,
  SKIPPED_LISTED,
  type SkippedArtifacts,
  type SkippedFile,
  type StoredFile,
  type WorkspaceChange,
  type WorkspaceLimits,
  workspaceObjectKey,
  type WorkspaceUpsert,
} from '@sandbox/domain';
import { MAX_IO_BYTES, type Sandbox, type WorkspaceScan } from '@sandbox/runtime';
import { mimeTypeOf, type WorkspaceStore } from '@sandbox/storage';
import picomatch from 'picomatch';

/** Files up to this size travel in batches (several per request and in memory); larger ones stream. */
const SMALL_FILE_BYTES = 1 << 20;
const STORE_CONCURRENCY = 8;
// the scan may list directories and skipped entries next to the files it keeps
const SCAN_SLACK = 1000;

/** The entries a push's scan lists at most, for a run that brings the scan along (RunRequest.scan). */
export const scanLimitOf = (limits: WorkspaceLimits): number => limits.maxFiles + SCAN_SLACK;

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

/** The session's manifest, the state of record of its workspace (persistence's WorkspaceFileRepository). */
export interface WorkspaceManifest {
  /** Every committed file, a page at a time. */
  stream(sessionId: string): AsyncIterable<readonly StoredFile[]>;
  /** Makes a change visible, only while its attempt is the execution's current one. */
  commit(change: WorkspaceChange): Promise<CommitResult>;
}

/** The attempt a push writes for: only it may commit (DESIGN.md §7's fence, applied to the workspace). */
export interface PushFence {
  readonly id: string;
  readonly attempt: number;
  readonly node: string;
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

/** A transfer stopped by the sync bound or because the attempt was given up. */
export class WorkspaceSyncAbortedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WorkspaceSyncAbortedError';
  }
}

/**
 * Keeps a session's container and its stored workspace in step: `pull` before an execution makes the
 * container hold what the manifest holds (after a new container, or a change through the API); `push`
 * after it stores what the run changed and says which files those were. A push uploads only new or
 * changed files, each under a key of its own attempt, and then commits the manifest change fenced by
 * that attempt: a push of an attempt that was retried meanwhile changes nothing, and its objects are
 * deleted. Each pull or push is bounded by `timeoutMs` and stopped by the caller's signal. Everything
 * moves through the sandbox's executor in pieces of at most MAX_IO_BYTES, and the manifest is read a
 * page at a time, so memory stays flat whatever the workspace.
 */
export class WorkspaceSync {
  constructor(
    private readonly store: WorkspaceStore,
    private readonly manifest: WorkspaceManifest,
    private readonly log: SyncLog,
    private readonly timeoutMs: number,
  ) {}

  /**
   * Makes the container hold the session's stored workspace, unless it already does. A file that
   * cannot be written into the container (a symlink in its way, a full disk) is left out and listed;
   * a store that cannot be read fails the pull, to be tried again before the next execution.
   */
  async pull(sandbox: Sandbox, state: WorkspaceState, session: SyncedSession, signal?: AbortSignal): Promise<SkippedFile[]> {
    const version = session.workspaceVersion;
    if (state.version === version && !state.unknown) return [];
    const t0 = Date.now();
    const bound = this.bound(signal);
    const failed: SkippedFile[] = [];
    let removed = 0;
    let downloaded = 0;
    try {
      if (state.unknown) {
        // the store is the state of record: files of a container we lost track of are not trusted
        const errors = await sandbox.wipe();
        if (errors.length) throw new WorkspaceRestoreError(`cannot empty the workspace: ${errors[0]!.path}: ${errors[0]!.error}`);
        state.manifest.clear();
        state.unknown = false;
      }
      // version 0: nothing was ever committed (a commit bumps the version in the same transaction), and
      // objects nobody committed are never read: a crashed writer's upload cannot come back
      if (version !== 0 && state.manifest.size) {
        // what the container holds and the manifest no longer does goes first (a file may become a directory)
        const stored = new Set<string>();
        for await (const page of this.manifest.stream(session.id)) for (const f of page) stored.add(f.path);
        const remove = removedFrom(state.manifest, stored);
        if (remove.length) {
          const errors = await sandbox.remove(remove);
          if (errors.length) throw new WorkspaceRestoreError(`cannot delete '${errors[0]!.path}' from the workspace: ${errors[0]!.error}`);
          for (const path of remove) state.manifest.delete(path);
        }
        removed = remove.length;
      }
      if (version !== 0) {
        for await (const page of this.manifest.stream(session.id)) {
          const files = page.filter((f) => needsDownload(state.manifest, f));
          failed.push(...(await this.aborting(bound, () => this.download(sandbox, state, files, bound.signal))));
          downloaded += files.length;
        }
      }
    } finally {
      bound.done();
    }
    state.version = version;
    if (downloaded || removed) {
      this.log.info(
        { session_id: session.id, files: downloaded, removed, failed: failed.length, duration_ms: Date.now() - t0 },
        'workspace restored from the store',
      );
    }
    return failed;
  }

  /**
   * Stores what the last run changed, within the template's limits, for the attempt `fence`; returns
   * the run's artifacts. Nothing is visible before the fenced commit; when it is refused or the sync is
   * stopped, the objects uploaded are deleted and the change is reported as not stored. `scanned`: the
   * workspace as the run's report brought it (scanLimitOf), else the push asks the sandbox.
   */
  async push(
    sandbox: Sandbox,
    state: WorkspaceState,
    session: SyncedSession,
    limits: WorkspaceLimits,
    collect: readonly string[] | null,
    fence: PushFence,
    signal?: AbortSignal,
    scanned?: WorkspaceScan | null,
  ): Promise<PushResult> {
    const t0 = Date.now();
    const bound = this.bound(signal);
    const writer = attemptWriter(fence.id, fence.attempt);
    const scan = scanned ?? (await sandbox.scan(scanLimitOf(limits)));
    const plan = planPush(state.manifest, scan, limits);
    const skipped: SkippedFile[] = [...plan.skipped];
    // past the scan's limit files are only counted, never listed: over the limits anyway, and listing them could be huge
    const unlisted: SkippedFile | null = scan.truncated
      ? {
          path: '*',
          size: null,
          reason: `${scan.counted ? '' : 'over '}${scan.unlistedFiles} more files past the first ${scanLimitOf(limits)} workspace entries: over the workspace limits, not stored`,
        }
      : null;
    const uploaded: Uploaded[] = [];
    let result: CommitResult | null = null;
    try {
      await this.aborting(bound, () => this.upload(sandbox, session.id, writer, plan.upload, uploaded, skipped, bound.signal));
    } catch (e) {
      await this.discard(session.id, uploaded.map((u) => u.key));
      throw e;
    } finally {
      bound.done();
    }
    // a commit that failed may still have landed (the connection broke after COMMIT): its objects stay
    if (uploaded.length || plan.remove.length) result = await this.manifest.commit({ sessionId: session.id, fence, writer, upserts: uploaded, deletes: plan.remove });
    if (result && !result.committed) {
      await this.discard(session.id, uploaded.map((u) => u.key));
      // the retry owns the workspace now: this container's files are no longer what the store holds
      state.unknown = true;
      this.log.warn({ session_id: session.id, execution_id: fence.id, attempt: fence.attempt, files: uploaded.length }, 'workspace push fenced out: the attempt no longer owns the execution');
      return {
        artifacts: [],
        collected: null,
        skipped: { count: 1, items: [{ path: '*', size: null, reason: 'not stored: the attempt was retried elsewhere, whose workspace is kept' }] },
      };
    }
    if (result?.committed) {
      for (const u of uploaded) state.manifest.set(u.path, { size: u.size, sha256: u.sha256, key: u.key, etag: u.etag, token: u.token });
      for (const path of plan.remove) state.manifest.delete(path);
      // our own change: keep our copy current unless someone else changed the store meanwhile (then pulled later)
      if (state.version === result.base) state.version = result.version;
      await this.discard(session.id, result.released);
    }
    const artifacts = uploaded.map((u) => ({ path: u.path, size: u.size, mime_type: mimeTypeOf(u.path), sha256: u.sha256, etag: u.etag })).sort(byPath);
    const pushed = {
      artifacts,
      collected: collect?.length ? this.collect(state, collect) : null,
      skipped:
        skipped.length || unlisted
          ? { count: skipped.length + scan.unlistedFiles, items: (unlisted ? [unlisted, ...skipped] : skipped).slice(0, SKIPPED_LISTED) }
          : null,
    };
    if (artifacts.length || plan.remove.length || pushed.skipped) {
      this.log.info(
        { session_id: session.id, stored: artifacts.length, deleted: plan.remove.length, skipped: skipped.length, version: result?.committed ? result.version : null, duration_ms: Date.now() - t0 },
        'workspace stored',
      );
    }
    return pushed;
  }

  /** The caller's signal combined with the sync bound; `done` clears the timer. */
  private bound(signal?: AbortSignal): { signal: AbortSignal; done(): void } {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new WorkspaceSyncAbortedError(`the workspace sync took longer than ${this.timeoutMs / 1000} s`)), this.timeoutMs);
    timer.unref();
    const stop = () => controller.abort(new WorkspaceSyncAbortedError(`the workspace sync was stopped: ${String(signal?.reason?.message ?? signal?.reason ?? 'aborted')}`));
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });
    return {
      signal: controller.signal,
      done: () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', stop);
      },
    };
  }

  /** Runs a transfer; once the signal fired, its reason is the error, whatever the transfer threw. */
  private async aborting<T>(bound: { signal: AbortSignal }, fn: () => Promise<T>): Promise<T> {
    bound.signal.throwIfAborted();
    try {
      const r = await fn();
      bound.signal.throwIfAborted();
      return r;
    } catch (e) {
      bound.signal.throwIfAborted();
      throw e;
    }
  }

  /** Deletes objects nothing refers to (uncommitted uploads, released ones); a failure only leaves garbage under the session's prefix. */
  private async discard(sessionId: string, keys: readonly string[]): Promise<void> {
    if (!keys.length) return;
    await this.store.delete(keys).catch((e) => this.log.warn({ session_id: sessionId, objects: keys.length, err: e }, 'cannot delete unreferenced workspace objects'));
  }

  private async download(sandbox: Sandbox, state: WorkspaceState, files: readonly StoredFile[], signal: AbortSignal): Promise<SkippedFile[]> {
    const failed: SkippedFile[] = [];
    const notRestored = (f: StoredFile, error: string) => failed.push({ path: f.path, size: f.size, reason: `not restored into the container: ${error}` });
    const small = files.filter((f) => f.size <= SMALL_FILE_BYTES);
    // small files: fetched a few at a time, written several per request
    for (const batch of batches(small, (f) => f.size)) {
      const bodies = await mapLimit(batch, STORE_CONCURRENCY, async (f) => {
        const o = await this.store.get(f.key, signal);
        if (!o) throw new WorkspaceRestoreError(`'${f.path}' vanished from the store while it was restored`);
        return { f, data: await buffer(o.body) };
      });
      const results = await sandbox.write(bodies.map(({ f, data }) => ({ path: f.path, offset: 0, data, last: true })));
      results.forEach((r, i) => {
        const { f, data } = bodies[i]!;
        if (r.error || r.token === undefined) notRestored(f, r.error ?? 'no answer');
        else state.manifest.set(f.path, { size: data.length, sha256: sha256(data), key: f.key, etag: f.etag, token: r.token });
      });
    }
    // large files: streamed, one piece of MAX_IO_BYTES at a time
    for (const f of files.filter((x) => x.size > SMALL_FILE_BYTES)) {
      const o = await this.store.get(f.key, signal);
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
      else state.manifest.set(f.path, { size: offset, sha256: hash.digest('hex'), key: f.key, etag: f.etag, token });
    }
    return failed;
  }

  /** Stores new and changed files under the writer's keys, adding each to `uploaded`; one that fails is skipped and listed. */
  private async upload(
    sandbox: Sandbox,
    sessionId: string,
    writer: string,
    files: readonly ScannedEntry[],
    uploaded: Uploaded[],
    skipped: SkippedFile[],
    signal: AbortSignal,
  ): Promise<void> {
    const key = (path: string) => workspaceObjectKey(sessionId, writer, path);
    const failed = (e: ScannedEntry, error: unknown) => {
      // a stopped sync fails as a whole (the caller throws the signal's reason), not file by file
      if (signal.aborted) throw signal.reason;
      this.log.warn({ session_id: sessionId, path: e.path, err: error }, 'cannot store a workspace file');
      skipped.push({ path: e.path, size: e.size, reason: `not stored: ${(error as Error).message ?? String(error)}` });
    };
    // small files: read several per request, stored a few at a time while the next batch is read
    let storing: Promise<unknown> = Promise.resolve();
    for (const batch of batches(files.filter((e) => e.size <= SMALL_FILE_BYTES), (e) => e.size)) {
      const read = await sandbox.read(batch.map((e) => ({ path: e.path, offset: 0, length: SMALL_FILE_BYTES })));
      await storing;
      signal.throwIfAborted();
      storing = mapLimit(read, STORE_CONCURRENCY, async (r, i) => {
        const e = batch[i]!;
        if ('error' in r) return failed(e, new Error(r.error));
        try {
          const etag = await this.store.put(key(e.path), r.data, { contentType: mimeTypeOf(e.path), signal });
          uploaded.push({ path: e.path, key: key(e.path), size: r.data.length, sha256: sha256(r.data), etag, token: r.token });
        } catch (err) {
          failed(e, err);
        }
      });
    }
    await storing;
    // large files: a stream that pulls the next piece from the sandbox only when the store wants it
    for (const e of files.filter((x) => x.size > SMALL_FILE_BYTES)) {
      signal.throwIfAborted();
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
        const etag = await this.store.put(key(e.path), body, { contentType: mimeTypeOf(e.path), size: e.size, signal });
        uploaded.push({ path: e.path, key: key(e.path), size, sha256: hash.digest('hex'), etag, token });
      } catch (err) {
        failed(e, err);
      }
    }
  }

  private collect(state: WorkspaceState, patterns: readonly string[]): Artifact[] {
    const matches = picomatch([...patterns], { dot: true });
    return [...state.manifest.entries()]
      .filter(([path]) => matches(path))
      .map(([path, m]) => ({ path, size: m.size, mime_type: mimeTypeOf(path), sha256: m.sha256, etag: m.etag }))
      .sort(byPath);
  }
}

/** A file stored by this push, not committed yet. */
interface Uploaded extends WorkspaceUpsert {
  readonly token: string;
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
